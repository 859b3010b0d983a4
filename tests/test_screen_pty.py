"""The screen as a person sees it: driven through a real pseudo-terminal at 80x24 and 120x40, its
output fed to a terminal emulator (pyte), so "visible" means on the terminal's screen now."""

from __future__ import annotations

import os
import sys
import time

import pytest

from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")
TA = "title-abstract"
END = "THE-VERY-END-OF-THE-ABSTRACT"
LONG = " ".join(f"sentence{k} of a long abstract," for k in range(180)) + " " + END  # ~5,000 characters
TOPICS = ["kidney", "liver", "kidney", "liver", "heart"]


def medline(pmid: int, title: str, abstract: str, author: str, year: int) -> str:
    return (
        f"PMID- {pmid}\nDP  - {year} Jan\nTI  - {title}\nAB  - {abstract}\nFAU - {author}, Anna\n"
        f"AU  - {author} A\nFAU - Second, Bert\nAU  - Second B\nJT  - Journal of Screening Tests\n"
        f"TA  - J Screen Tests\nSO  - J Screen Tests. {year} Jan;1(1):1-2.\n"
    )


@pytest.fixture
def review(tmp_path) -> Review:
    """Five records; the first has a 5,000-character abstract."""
    blocks = [
        medline(
            900 + k,
            f"Record {k} on {topic} surgery outcomes",
            LONG if k == 0 else f"A short abstract about {topic} surgery, number {k}.",
            f"Author{k}",
            2010 + k,
        )
        for k, topic in enumerate(TOPICS)
    ]
    export = tmp_path / "export.nbib"
    export.write_text("\n".join(blocks))
    root = init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")])
    r = Review(root)
    r.import_file(export, "medline", database="MEDLINE")
    assert len(LONG) > 5000
    return r


class Terminal:
    """A child process on a pty of a given size, its output kept on an emulated screen."""

    def __init__(self, review: Review, rows: int, cols: int, *args: str) -> None:
        unset = ("COLUMNS", "LINES", "DISPLAY", "WAYLAND_DISPLAY")  # the pty's size; no browser
        env = {k: v for k, v in os.environ.items() if k not in unset}
        env["TERM"] = "xterm"
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "screener", *args],
            cwd=str(review.root),
            env=env,
            encoding="utf-8",
            dimensions=(rows, cols),
            timeout=30,
        )
        self.child.delaybeforesend = None
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)

    def _pump(self, wait: float) -> None:
        try:
            while True:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=wait))
                wait = 0.05
        except (pexpect.TIMEOUT, pexpect.EOF):
            pass

    @property
    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._pump(0.2)
            if text in self.text():
                self._pump(0.1)  # the rest of this drawing
                return
        raise AssertionError(f"{text!r} never on screen; the screen shows:\n{self.text()}")

    def press(self, keys: str) -> None:
        self.child.send(keys)

    def quit(self) -> None:
        self.child.send("q")
        self.child.expect(pexpect.EOF)


def row_of(term: Terminal, text: str) -> int:
    return next(k for k, line in enumerate(term.lines) if text in line)


def labels(review: Review, reviewer: str = "alice") -> list[list[str]]:
    lines = decision_path(review.labels_dir, TA, reviewer).read_text().splitlines()
    import csv

    return list(csv.reader(lines))[1:]


@pytest.mark.parametrize("rows,cols", [(24, 80), (40, 120)])
def test_a_long_abstract_scrolls_under_a_title_that_stays(review, rows, cols):
    term = Terminal(review, rows, cols, "screen", "--reviewer", "alice", "--order", "file")
    term.wait_for("pmid:900")
    screen = term.lines
    assert row_of(term, "Record 0 on kidney surgery outcomes") <= 3  # at the top
    assert "2010 · Journal of Screening Tests · pmid:900" in screen[row_of(term, "pmid:900")]
    assert "Author0, Anna; Second, Bert" in screen[row_of(term, "pmid:900") + 1]
    assert "0/5 screened" in screen[0]
    assert "more below" in term.text() and END not in term.text()
    last = screen[-1]
    assert last.startswith("i include") and "q quit" in last  # the keys, on one line at the bottom
    assert all(len(line) <= cols for line in screen)
    for _ in range(30):  # page down (space, then PgDn) until the end shows
        term.press(" " if _ % 2 else "\x1b[6~")
        term._pump(0.3)
        if END in term.text():
            break
    term.wait_for(END)
    assert "lines above" in term.text() and "end of abstract" in term.text()
    assert row_of(term, "Record 0 on kidney surgery outcomes") <= 3
    assert "0/5 screened" in term.lines[0] and term.lines[-1] == last
    term.press("\x1b[5~")  # PgUp
    term._pump(0.5)
    assert END not in term.text()
    term.quit()


def test_history_shows_earlier_decisions_and_a_change_appends(review):
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--order", "file")
    term.wait_for("pmid:900")
    term.press("i")
    term.wait_for("pmid:901")
    term.press("e")
    term.wait_for("pmid:902")
    term.quit()
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--order", "file")  # a restart
    term.wait_for("pmid:902")
    term.press("h")
    term.wait_for("Your 2 decisions")
    newest = row_of(term, "pmid:901")
    assert newest < row_of(term, "pmid:900") and term.lines[newest].startswith(">")
    term.press("\x1b[B")  # down to pmid:900
    term.wait_for("> ")
    term.press("\r")
    term.wait_for("CHANGING your decision (include")
    assert "Record 0 on kidney" in term.text()
    term.press("e")
    term.wait_for("changed pmid:900: include -> exclude")
    assert "pmid:902" in term.text()  # back to where the queue was
    term.quit()
    assert [row[:2] for row in labels(review)] == [
        ["pmid:900", "include"],
        ["pmid:901", "exclude"],
        ["pmid:900", "exclude"],  # appended; the first line is unchanged
    ]


def test_undo_after_a_restart(review):
    DecisionLog(decision_path(review.labels_dir, TA, "alice")).append("pmid:900", "include")
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--order", "file")
    term.wait_for("pmid:901")
    term.press("u")
    term.wait_for("undone")
    assert "Record 0 on kidney" in term.text() and "nothing to undo" not in term.text()
    term.quit()
    assert labels(review)[-1][:2] == ["pmid:900", "undecided"]


def test_search_screens_the_matches_then_the_full_queue(review):
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--order", "file")
    term.wait_for("pmid:900")
    term.press("/")
    term.wait_for("Search")
    term.press("liver\r")
    term.wait_for("2 records to screen match 'liver'")
    assert "pmid:901" in term.text()
    term.press("i")
    term.wait_for("pmid:903")
    term.press("i")
    term.wait_for("No record left that matches 'liver'")
    term.press("/")
    term.wait_for("Search")
    term.press("\r")  # nothing: the full queue
    term.wait_for("pmid:900")
    term.quit()
    assert [row[:2] for row in labels(review)] == [["pmid:901", "include"], ["pmid:903", "include"]]


def test_note_and_tags_are_saved_with_the_decision_and_the_link_shown(review):
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--order", "file")
    term.wait_for("pmid:900")
    term.press("o")
    term.wait_for("link: https://pubmed.ncbi.nlm.nih.gov/900/")
    term.press("n")
    term.wait_for("Note:")
    term.press("check the dose\r")
    term.wait_for("note kept")
    term.press("t")
    term.wait_for("Tags")
    term.press("rct, adults\r")
    term.wait_for("tags: rct; adults")
    term.press("q")  # not yet: the note and tags would be lost
    term.wait_for("is not saved yet")
    term.press("i")
    term.wait_for("pmid:901")
    term.quit()
    row = labels(review)[0]
    assert row[:4] == ["pmid:900", "include", "", "check the dose"] and row[6] == "rct; adults"


def test_help_explains_and_resizing_redraws(review):
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--order", "random")
    term.wait_for("pmid:9")
    term.press("?")
    term.wait_for("Keys (title-abstract)")
    assert "goes on to full text" in term.text()
    for _ in range(4):
        term.press(" ")
        term._pump(0.3)
    text = term.text().replace("\n", "")
    assert "labels/title-abstract/alice.csv" in text and "stopping rule" in text.lower()
    term.press("x")  # back to screening
    term.wait_for("q quit")
    assert not term.lines[-1].startswith("i include  e exclude  m maybe  u undo  n note  t tags")
    term.child.setwinsize(40, 120)
    term.screen.resize(40, 120)
    term.wait_for("t tags  s skip  h history")  # the wide key list: drawn again at the new size
    term.quit()


def test_all_records_shows_waiting_records_first_and_a_final_one_needs_two_presses(tmp_path):
    """Issue #22: `screen --all` showed final records first, and one stray key reopened one as a
    conflict."""
    export = tmp_path / "export.nbib"
    blocks = [
        medline(900 + k, f"Record {k} on {t} surgery", f"About {t}.", f"A{k}", 2010)
        for k, t in enumerate(TOPICS)
    ]
    export.write_text("\n".join(blocks))
    root = init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob"), Reviewer("dan")])
    review = Review(root)
    review.import_file(export, "medline", database="MEDLINE")
    for name in ("alice", "bob"):  # pmid:900 is final: included by agreement
        DecisionLog(decision_path(review.labels_dir, TA, name)).append("pmid:900", "include")
    term = Terminal(review, 24, 80, "screen", "--reviewer", "dan", "--order", "file", "--all")
    term.wait_for("pmid:901")
    for pmid in (902, 903, 904, 900):  # every waiting record, then the final one
        term.press("i")
        term.wait_for(f"pmid:{pmid}")
    term.press("e")
    term.wait_for("reopens it as a conflict")
    assert [row[0] for row in labels(review, "dan")] == ["pmid:901", "pmid:902", "pmid:903", "pmid:904"]
    term.press("e")
    term.wait_for("saved: exclude")
    term.quit()
    assert labels(review, "dan")[-1][:2] == ["pmid:900", "exclude"]


def test_at_full_text_slash_finds_a_word_in_the_report(tmp_path, cli):
    """Issue #23 item 5: `/` within the report's text, at full text; f still searches the records."""
    from .fulltext_helpers import fulltext_review, make_pdf, write

    title = "Exercise therapy for chronic low back pain in older adults"
    review = fulltext_review(tmp_path, [{"title": title, "authors": "Okafor, Chidi", "year": "2019"}])
    write(tmp_path / "pdfs", "okafor.pdf", make_pdf([title, "Chidi Okafor", "J Test Med 2019"], pages=3))
    assert cli("--review", str(review.root), "fulltext", "attach", str(tmp_path / "pdfs")).code == 0
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--stage", "full-text")
    term.wait_for("─── report")
    assert "Page 3 of the report" not in term.text()  # below the fold
    term.press("/")
    term.wait_for("Find in this report")
    term.press("page 3 OF THE\r")
    term.wait_for("match 1 of 1 (page 3)")
    assert "Page 3 of the report" in term.text()
    term.press("f")
    term.wait_for("Search title, abstract, authors")
    term.press("exercise\r")
    term.wait_for("1 record to screen matches 'exercise'")
    term.quit()


def test_the_studies_cache_is_written_after_the_first_record_is_drawn(review):
    """The first start computes the studies and draws the first record before it packs and
    writes them to the cache (seconds at 100,000 records); quitting waits for that write, so
    the next start reads them."""
    from screener.screening.screen import screen_studies_deferred

    review.records()  # its files verified, as any earlier command leaves them: a cache key
    assert screen_studies_deferred(review).save is not None  # nothing cached yet
    term = Terminal(review, 24, 80, "screen", "--reviewer", "alice", "--order", "file")
    term.wait_for("pmid:900")
    term.quit()
    assert screen_studies_deferred(review).save is None  # read from the cache the session wrote


def test_dedup_leaves_the_studies_for_the_screen(review):
    """`screener dedup` stores the studies the screen shows, so its first start reads them."""
    import subprocess

    from screener.screening import review_studies
    from screener.screening.screen import screen_studies, screen_studies_deferred

    command = [sys.executable, "-m", "screener", "dedup"]
    subprocess.run(command, cwd=review.root, check=True, capture_output=True)
    assert screen_studies_deferred(review).save is None  # in the cache
    cached, computed = screen_studies(review), review_studies(review)
    assert [r.to_dict() for r in cached[0]] == [r.to_dict() for r in computed[0]]
    assert cached[1] == computed[1]


def test_keys_typed_before_the_first_record_is_shown_decide_nothing(review):
    """Keys typed while the records are prepared were typed at no record: they are dropped,
    and the screen says so."""
    term = Terminal(review, 24, 100, "screen", "--reviewer", "alice", "--order", "file")
    term.press("eee")  # before anything is drawn
    term.wait_for("pmid:900")
    term.wait_for("were ignored")
    term.press("i")
    term.wait_for("pmid:901")
    term.quit()
    assert [row[:2] for row in labels(review)] == [["pmid:900", "include"]]


def test_ctrl_z_and_fg_bring_the_screen_back_reading_single_keys(review):
    """Ctrl-Z in a shell gives the terminal back as the shell had it; on fg the screen is
    drawn again and reads single keys (no Enter) as before."""
    import shlex
    import shutil

    if shutil.which("bash") is None:
        pytest.skip("needs bash for job control")
    term = Terminal.__new__(Terminal)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "DISPLAY")}
    env.update(TERM="xterm", PS1="$ ")
    term.child = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], cwd=str(review.root), env=env, encoding="utf-8",
        dimensions=(24, 100), timeout=30,
    )
    term.child.delaybeforesend = None
    term.screen = pyte.Screen(100, 24)
    term.stream = pyte.Stream(term.screen)
    command = [sys.executable, "-m", "screener", "screen", "--reviewer", "alice", "--order", "file"]
    term.press(" ".join(shlex.quote(part) for part in command) + "\r")
    term.wait_for("pmid:900")
    term.press("\x1a")  # Ctrl-Z
    term.wait_for("Stopped")
    term.screen.reset()
    term.press("fg\r")
    term.wait_for("pmid:900")  # drawn again
    term.press("e")  # a single key, no Enter
    term.wait_for("pmid:901")
    term.press("q")
    term.wait_for("decisions in")
    term.press("exit\r")
    term.child.expect(pexpect.EOF)
    assert [row[:2] for row in labels(review)] == [["pmid:900", "exclude"]]
