"""The screen's logic without a terminal: layout at a given size, scrolling, history, undo after
a restart, search, links, tags and the help (the pty tests drive the same code by keys)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from screener.errors import ScreenerError
from screener.records import Record
from screener.screening.decisions import COLUMNS_WITHOUT_TAGS, DecisionLog, normalise_tags
from screener.screening.screen import (
    ScreenSession,
    footer,
    help_lines,
    record_link,
    run_terminal,
    screen_lines,
)

from .test_screening import screened  # noqa: F401  (fixture)

TA, FT = "title-abstract", "full-text"
LONG = " ".join(f"word{k}" for k in range(700)) + " THE-VERY-END"  # about 5,000 characters


def no_highlight(text) -> None:  # noqa: ANN001
    pass


def records(n: int = 6) -> list[Record]:
    out = [
        Record(
            id=f"pmid:{100 + k}",
            pmid=str(100 + k),
            title=f"Trial number {k} of something",
            abstract=f"Abstract {k} about {'liver' if k % 2 else 'kidney'} surgery.",
            authors=[f"Author{k} A", "Second B"],
            year=2000 + k,
            journal="Journal of Tests",
        )
        for k in range(n)
    ]
    out[0].abstract = LONG
    return out


def session(tmp_path, stage: str = TA, n: int = 6, **kw) -> ScreenSession:
    log = DecisionLog(tmp_path / "labels" / stage / "alice.csv")
    return ScreenSession(stage, records(n), log, ["Wrong population", "Wrong outcome"], **kw)


def text_of(lines) -> list[str]:  # noqa: ANN001
    return [line.plain for line in lines]


def console(width: int, height: int) -> Console:
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=True, color_system=None)


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_the_top_stays_and_the_abstract_scrolls_to_its_end(tmp_path, width, height):
    s = session(tmp_path)
    c = console(width, height)
    shown = text_of(screen_lines(s, c, no_highlight, width, height))
    assert len(shown) <= height and all(len(line) <= width for line in shown)
    assert "Trial number 0 of something" in shown[:4]  # at the top, under progress and the rule
    assert "Trial number 0 of something" in shown
    assert "2000 · Journal of Tests · pmid:100" in shown
    assert any(line.startswith("Author0 A") for line in shown)
    assert any("more below" in line for line in shown)
    assert not any("THE-VERY-END" in line for line in shown)
    assert shown[-1] == footer(s, width)
    for _ in range(200):  # page down until the end
        s.scroll += s.page_size - 1
        shown = text_of(screen_lines(s, c, no_highlight, width, height))
    assert any("THE-VERY-END" in line for line in shown)
    assert any("end of abstract" in line for line in shown) and any("lines above" in line for line in shown)
    assert "Trial number 0 of something" in shown and shown[-1] == footer(s, width)
    assert len(shown) <= height


def test_the_id_is_never_cut_the_journal_gives_way(tmp_path):
    s = session(tmp_path)
    s.records[0].journal = "The International Journal of Very Long Journal Names and Their Consequences " * 2
    shown = text_of(screen_lines(s, console(80, 24), no_highlight, 80, 24))
    meta = next(line for line in shown if line.endswith("· pmid:100"))
    assert meta.startswith("2000 · The International") and "…" in meta and len(meta) <= 80


@pytest.mark.parametrize("stage", [TA, FT])
@pytest.mark.parametrize("width", [80, 120, 60])
def test_the_footer_never_wraps(tmp_path, stage, width):
    s = session(tmp_path, stage)
    assert len(footer(s, width)) <= width
    assert "i " in footer(s, 80) and "q" in footer(s, 80)
    assert "history" in footer(s, 120) and "search" in footer(s, 120) and "note" in footer(s, 80)
    s.open_decided(s.records[1].id)
    assert len(footer(s, width)) <= width and "back" in footer(s, width)


def test_undo_after_a_restart_takes_back_the_last_decision(tmp_path):
    first = session(tmp_path)
    first.decide("include")
    first.decide("exclude")
    restarted = session(tmp_path, done=first.log.current())
    assert restarted.current.id == "pmid:102"
    restarted.undo()
    assert restarted.current.id == "pmid:101"  # back on screen
    assert "exclude" in restarted.message and "pmid:101" in restarted.message
    assert [(d.record_id, d.decision) for d in first.log.read()][-1] == ("pmid:101", "undecided")
    restarted.undo()
    restarted.undo()
    assert restarted.message.startswith("nothing to undo")
    assert len(first.log.read()) == 4  # nothing appended for the empty undo


def test_history_lists_newest_first_and_a_change_appends(tmp_path, monkeypatch):
    # Every decision in one millisecond (a fast machine): the file's order must still decide.
    monkeypatch.setattr("screener.screening.decisions.now_stamp", lambda: "2026-01-01T00:00:00.000+00:00")
    s = session(tmp_path)
    for key in ("include", "exclude", "maybe"):
        s.decide(key)
    later = session(tmp_path, done=s.log.current())  # from the file: after a restart
    assert [d.record_id for d in later.decided_newest_first()] == ["pmid:102", "pmid:101", "pmid:100"]
    waiting = later.current.id
    later.open_decided("pmid:100")
    assert later.current.id == "pmid:100"
    later.decide("exclude")
    assert later.current.id == waiting  # back to the queue where it was
    assert "changed pmid:100: include -> exclude" in later.message
    lines = [(d.record_id, d.decision) for d in later.log.read()]
    assert lines == [
        ("pmid:100", "include"),
        ("pmid:101", "exclude"),
        ("pmid:102", "maybe"),
        ("pmid:100", "exclude"),
    ]
    assert later.done["pmid:100"].decision == "exclude" and later.screened == 3
    assert [d.record_id for d in later.decided_newest_first()][0] == "pmid:100"
    later.undo()  # the change was the last decision
    assert later.current.id == "pmid:100"


def test_search_screens_the_matches_then_the_full_queue(tmp_path):
    s = session(tmp_path)
    s.find("LIVER surgery")
    assert s.matches_waiting() == 3 and s.current.id == "pmid:101"
    s.decide("include")
    assert s.current.id == "pmid:103"
    s.skip()
    assert s.current.id == "pmid:105"
    s.decide("exclude")
    s.decide("exclude")  # pmid:103, skipped, comes back
    assert s.current is None and s.matches_waiting() == 0
    lines = screen_lines(s, console(80, 24), no_highlight, 80, 24)
    assert any("No record left that matches" in line for line in text_of(lines))
    s.find("no-such-word")
    assert s.matches is not None and "no record waiting matches" in s.message
    s.find("")
    assert s.matches is None and s.current.id == "pmid:100"
    s.find("Author4")  # authors are searched too
    assert s.current.id == "pmid:104"


def test_links():
    assert record_link(Record(id="pmid:1", pmid="123")) == "https://pubmed.ncbi.nlm.nih.gov/123/"
    assert record_link(Record(id="doi:x", doi="10.1000/a b")) == "https://doi.org/10.1000/a%20b"
    assert record_link(Record(id="x", url="https://example.org/a")) == "https://example.org/a"
    assert record_link(Record(id="x", url="javascript:alert(1)")) == ""


def test_tags_saved_with_the_decision_in_a_new_file(tmp_path):
    s = session(tmp_path)
    s.pending_tags = normalise_tags(" RCT, adults;rct ,  follow up ")
    s.pending_note = "n1"
    s.decide("include")
    entry = s.log.read()[0]
    assert (entry.tags, entry.note) == ("RCT; adults; follow up", "n1")
    assert entry.tag_list == ["RCT", "adults", "follow up"]
    assert s.log.path.read_text().splitlines()[0].endswith(",version,tags")
    assert s.pending_tags == "" and s.pending_note == ""


def test_an_old_file_keeps_its_columns_and_refuses_tags(tmp_path):
    path = tmp_path / "labels" / TA / "alice.csv"
    path.parent.mkdir(parents=True)
    old = ",".join(COLUMNS_WITHOUT_TAGS) + "\npmid:100,include,,,2026-01-01T00:00:00.000+00:00,0.1.0\n"
    path.write_text(old)
    log = DecisionLog(path)
    assert not log.takes_tags()
    assert log.read()[0].tags == ""
    log.append("pmid:101", "exclude")
    with pytest.raises(ScreenerError, match="tags column") as refused:
        log.append("pmid:102", "include", tags="rct")
    assert "',tags'" in refused.value.hint
    text = path.read_text()
    assert text.startswith(old)  # nothing already written changed
    assert text.splitlines()[-1].count(",") == 5 and len(text.splitlines()) == 3  # six cells, no tags line
    path.write_text(text.replace("version\n", "version,tags\n", 1))  # the column added by hand
    log.append("pmid:102", "include", tags="rct")
    assert [d.tags for d in log.read()] == ["", "", "rct"]


def test_help_says_keys_meaning_file_and_stopping_rule(tmp_path):
    s = session(tmp_path, order="ranked")
    said = "\n".join(text_of(help_lines(s, console(80, 24), 80)))
    assert str(s.log.path) in said.replace("\n", "")
    assert "goes on to full text" in said and "never maybe" in said
    joined = " ".join(line.strip() for line in said.splitlines())
    assert s.stopping_estimate().describe() in joined
    assert "slowest recent rate" in joined and "random sample" not in joined  # the ranked rule, explained
    random = "\n".join(text_of(help_lines(session(tmp_path / "r", order="random"), console(80, 24), 80)))
    assert "random sample" in " ".join(line.strip() for line in random.splitlines())
    for key in ("i", "e", "m", "u", "n", "t", "s", "h", "/", "o", "?", "q"):
        assert f"\n{key:>6}  " in said
    file_order = "\n".join(text_of(help_lines(session(tmp_path, order="file"), console(80, 24), 80)))
    assert "Not estimated here" in file_order


def test_need_vote_count_follows_decisions(tmp_path):
    s = session(tmp_path, need_vote={"pmid:100", "pmid:101", "pmid:103"})
    assert s.still_need_vote == 3
    s.decide("include")
    assert s.still_need_vote == 2
    shown = text_of(screen_lines(s, console(80, 24), no_highlight, 80, 24))
    assert "2 still need your vote" in shown[0]


def drive(s: ScreenSession, keys: list[str], prompts: list[str] = (), launch=None) -> None:  # noqa: ANN001
    typed, answers = iter(keys), iter(prompts)
    run_terminal(s, console(80, 24), no_highlight, lambda: next(typed), lambda _: next(answers), launch)


def test_keys_never_drop_a_note_or_tags(tmp_path):
    s = session(tmp_path)
    drive(s, ["t", "q", "s", "h", "/", "i", "q"], ["rct"])
    assert [(d.record_id, d.tags) for d in s.log.read()] == [("pmid:100", "rct")]
    s2 = session(tmp_path / "b")
    drive(s2, ["n", "q", "q"], ["dropped on purpose"])  # q twice: the reviewer chose to drop it
    assert s2.log.read() == []


def test_keys_history_change_and_link(tmp_path):
    s = session(tmp_path)
    opened = []
    # include two, open the history, move down to the older one, Enter, change it to exclude
    drive(s, ["i", "i", "h", "down", "enter", "e", "o", "q"], launch=opened.append)
    assert [(d.record_id, d.decision) for d in s.log.read()][-1] == ("pmid:100", "exclude")
    assert "pubmed.ncbi.nlm.nih.gov/102/" in s.message  # o on the next record of the queue
    assert opened == [] or opened == ["https://pubmed.ncbi.nlm.nih.gov/102/"]


def test_full_text_reason_and_not_retrieved_keys(tmp_path):
    s = session(tmp_path, FT)
    drive(s, ["e", "2", "r", "e", "x", "q"])
    saved = [(d.decision, d.reason) for d in s.log.read()]
    assert saved == [("exclude", "Wrong outcome"), ("not-retrieved", "")]
    assert s.message == "exclusion cancelled"


# -- start-up caches: they can never change a result ---------------------------------------


def test_studies_cache_equals_the_computation_and_is_never_trusted(screened):  # noqa: F811
    from screener.screening import review_studies
    from screener.screening.screen import screen_studies
    from screener.screening.screen.studies import _studies_key

    expected = review_studies(screened)
    first = screen_studies(screened)  # computed and stored
    again = screen_studies(screened)  # from the cache
    as_dicts = [[r.to_dict() for r in studies] for studies, _ in (expected, first, again)]
    assert as_dicts[0] == as_dicts[1] == as_dicts[2]
    assert expected[1] == first[1] == again[1]
    key = _studies_key(screened)
    entry = screened.cache_dir / "studies" / f"{key}.marshal"
    assert entry.exists()
    entry.write_bytes(b"planted")  # a damaged or planted entry is rebuilt
    assert [r.to_dict() for r in screen_studies(screened)[0]] == as_dicts[0]
    # The abstracts are read when needed: one record's alone, then all.
    from screener.screening.screen import screen_studies_lazy

    screen_studies(screened)  # stored again
    studies, _, abstracts = screen_studies_lazy(screened)
    assert abstracts is not None and all(r.abstract == "" for r in studies)
    with_abstract = next(k for k, r in enumerate(expected[0]) if r.abstract)
    abstracts.ensure(studies[with_abstract])
    assert studies[with_abstract].abstract == expected[0][with_abstract].abstract
    assert sum(1 for r in studies if r.abstract) == 1
    abstracts.fill_all()
    assert [r.to_dict() for r in studies] == as_dicts[0]
    entry.with_suffix(".abstracts").write_bytes(b"\x00" * 3)  # damaged: rebuilt, not trusted
    assert screen_studies_lazy(screened)[2] is None
    # The screen writes the entry once its first record is drawn: nothing before `save`.
    from screener.screening.screen import screen_studies_deferred

    for stale in entry.parent.iterdir():
        stale.unlink()
    studies, member_of, abstracts, save, rounds, _ = screen_studies_deferred(screened)
    assert abstracts is None and [r.to_dict() for r in studies] == as_dicts[0] and member_of == expected[1]
    assert not any(entry.parent.iterdir())
    save()
    assert entry.exists() and screen_studies_deferred(screened).save is None
    assert [r.to_dict() for r in screen_studies(screened)[0]] == as_dicts[0]
    # The split ids dedup recorded are an input (a merge of two clones may change them).
    from screener.dedup.split_ids import COLUMNS, ids_path

    ids_path(screened).write_text(",".join(COLUMNS) + "\n")
    assert _studies_key(screened) != key
    ids_path(screened).unlink()
    assert _studies_key(screened) == key
    # A person's dedup decision is an input: a new key.
    screened.dedup_decisions_path.write_text("record_id_1,record_id_2,decision,reviewer,timestamp,version\n")
    assert _studies_key(screened) != key


def test_the_saved_order_is_used_only_for_the_same_decisions(tmp_path):
    from screener.screening.screen import load_saved_order, save_order

    class FakeReview:
        cache_dir = tmp_path / "cache"

    s = session(tmp_path)
    s.decide("include")
    ids = [r.id for r in reversed(s.records)]
    save_order(FakeReview, s, "alice", "settings", ids)
    restarted = session(tmp_path, done=s.log.current())
    assert load_saved_order(FakeReview, restarted, "alice", "settings")
    assert restarted.queue == [rid for rid in ids if rid != "pmid:100"]
    other = session(tmp_path, done=s.log.current())
    assert not load_saved_order(FakeReview, other, "alice", "other settings")
    other.decide("exclude")  # the decisions changed: the saved order is for other decisions
    third = session(tmp_path, done=other.log.current())
    assert not load_saved_order(FakeReview, third, "alice", "settings")
    assert third.queue == ["pmid:102", "pmid:103", "pmid:104", "pmid:105"]


def test_the_stopping_rule_in_the_background_shows_the_latest(tmp_path):
    from screener.screening.screen import StoppingInBackground

    s = session(tmp_path, order="ranked", stopping=StoppingInBackground(hold=True))
    assert s.shown_estimate() is None  # held until the first record is drawn
    lines = text_of(screen_lines(s, console(80, 24), no_highlight, 80, 24))
    assert "the stopping rule: computing..." in lines[1]
    s.stopping.release(s)
    s.stopping.wait()
    assert s.stopping.news()
    assert s.shown_estimate().describe() == s.stopping_estimate().describe()
    s.decide("include")
    s.shown_estimate()
    s.stopping.wait()
    assert s.shown_estimate().found == 1


def test_tags_reach_the_exports(screened):  # noqa: F811
    import csv

    from screener.export import export
    from screener.screening.labels import record_decision

    study = "pmid:16511671"
    assert record_decision(screened, "alice", TA, study, "include", tags="rct, adults").tags == "rct; adults"
    record_decision(screened, "bob", TA, study, "include")
    rows = list(csv.DictReader(io.StringIO(export(screened, TA, "all", "csv")[0])))
    row = next(r for r in rows if r["study_id"] == study)
    assert row["tags"] == "alice: rct; adults" and row["decision"] == "include"
    assert "tags alice: rct; adults" in export(screened, TA, "included", "ris")[0]


def test_a_note_typed_on_a_reopened_record_stays_with_it(tmp_path):
    s = session(tmp_path)
    # decide, reopen it from the history, type a note, try to leave: refused; decide: the note goes with it
    drive(s, ["i", "h", "enter", "n", "esc", "s", "m", "q"], ["seen the full text"])
    saved = [(d.record_id, d.decision, d.note) for d in s.log.read()]
    assert saved == [("pmid:100", "include", ""), ("pmid:100", "maybe", "seen the full text")]
    assert s.current.id == "pmid:101"


def test_need_vote_count_after_undo_and_change(tmp_path):
    s = session(tmp_path, need_vote={"pmid:100", "pmid:101"})
    s.decide("include")
    s.decide("exclude")
    assert s.still_need_vote == 0
    s.undo()
    assert s.still_need_vote == 1 == len(s.need_vote - s.done.keys())
    s.open_decided("pmid:100")
    s.decide("exclude")  # a change is no new vote
    assert s.still_need_vote == 1


def test_the_drawing_keeps_every_style(tmp_path):
    from screener.screening.screen import draw

    s = session(tmp_path)
    c = Console(file=io.StringIO(), width=80, height=24, force_terminal=True, color_system="standard")
    draw(c, screen_lines(s, c, no_highlight, 80, 24))
    out = c.file.getvalue()
    assert out.startswith("\x1b[H\x1b[2J")
    assert "\x1b[1mTrial number 0 of something\x1b[0m" in out  # the title, bold
    assert "\x1b[2m2000 · Journal of Tests · pmid:100\x1b[0m" in out  # the id line, dim
    assert out.endswith("q quit\x1b[0m") and out.count("\n") == 23  # the keys last, nothing scrolls


def test_the_screen_says_while_the_ranking_is_being_built(tmp_path):
    import threading

    from screener.screening.screen import BackgroundRanking

    started, release = threading.Event(), threading.Event()

    class Ranker:
        notice, fitted = "", False

        def fit(self, labelled, y) -> None:  # noqa: ANN001
            pass

    def build():  # noqa: ANN202
        started.set()
        release.wait(10)
        return Ranker()

    s = session(tmp_path, order="ranked")
    s.rerank = background = BackgroundRanking(build=build)
    background.request(s)
    started.wait(10)
    def top() -> str:
        return text_of(screen_lines(s, console(120, 40), no_highlight, 120, 40))[0]

    assert "ranking: reading the records" in top()
    s.decide("include")  # never waits for the model
    release.set()
    background.wait()
    assert "ranking" not in top()


def test_settled_records_come_last_and_reopening_a_final_one_takes_the_key_twice(tmp_path) -> None:
    """Issue #22: with every record on screen (--all), a final record came first and one stray key
    reopened it as a conflict."""
    s = session(tmp_path, settled={"pmid:100", "pmid:101"}, finals={"pmid:100": ("exclude", "")})
    assert s.queue == ["pmid:102", "pmid:103", "pmid:104", "pmid:105", "pmid:100", "pmid:101"]
    s.queue = ["pmid:100", *s.queue[:4], "pmid:101"]  # the final record on screen
    assert s.decide("include") is None and not s.log.path.exists()  # asked, nothing saved
    assert "reopens it as a conflict" in s.message and s.current.id == "pmid:100"
    s.confirming = None  # what any other key does (run_terminal): the next press asks again
    assert s.decide("include") is None
    assert s.decide("include") is not None  # the same key again: saved
    assert s.log.read()[-1].record_id == "pmid:100"
    s.queue.insert(0, "pmid:100")
    s.done.pop("pmid:100")
    assert s.decide("exclude") is not None  # agreeing with the final decision changes nothing: no question


def test_another_key_cancels_the_confirmation(tmp_path) -> None:
    s = session(tmp_path, settled={"pmid:100"}, finals={"pmid:100": ("exclude", "")})
    s.queue = ["pmid:100", "pmid:101"]
    keys = iter(["i", "o", "i", "q"])  # include, then a key that is no vote, include again: asked twice
    run_terminal(s, console(80, 24), no_highlight, lambda: next(keys), lambda _: "", None)
    assert not s.log.path.exists() and "reopens it as a conflict" in s.message


# -- `/` in a report's text, at full text -----------------------------------------------------

FILLER = "\n".join(f"line {k} of the methods" for k in range(40))
REPORT = (
    "--- page 1 of 3 ---\nIntroduction\n" + FILLER + "\nthe Kidney\ntransplant in a randomised con-\ntrolled"
    + " trial\n--- page 2 of 3 ---\n" + FILLER + "\nkidney transplant again\n--- page 3 of 3 ---\n"
    + FILLER + "\na KIDNEY TRANSPLANT at the end\n"
)


def report_session(tmp_path) -> ScreenSession:  # noqa: ANN001
    return session(tmp_path, FT, report_text=lambda rid: REPORT if rid == "pmid:100" else None)


def found_styles(lines) -> list[str]:  # noqa: ANN001
    """The text of every stretch of a line styled as a match found."""
    from rich.style import Style

    return [
        line.plain[span.start : span.end]
        for line in lines
        for span in line.spans
        if isinstance(span.style, Style) and span.style.meta.get("screener-found") is not None
    ]


def test_slash_finds_in_the_report_next_wraps_and_says_the_page(tmp_path):
    s, c = report_session(tmp_path), console(80, 24)
    screen_lines(s, c, no_highlight, 80, 24)
    s.find_in_report("kidney  TRANSPLANT")  # case ignored, across the PDF's line break
    shown = text_of(lines := screen_lines(s, c, no_highlight, 80, 24))
    body = shown.index(next(line for line in shown if line.startswith("─── ▲")))
    assert shown[body + 1] == "the Kidney"  # scrolled: the match's first line on top
    assert "match 1 of 3 (page 1)" in s.message and s.message in shown
    assert found_styles(lines)[:2] == ["Kidney", "transplant"]  # both of its lines highlighted
    assert any(span.style == "bold black on yellow" for line in lines for span in line.spans)  # the one shown
    s.find_in_report("")  # Enter alone: the next
    shown = text_of(lines := screen_lines(s, c, no_highlight, 80, 24))
    assert "match 2 of 3 (page 2)" in s.message and "kidney transplant again" in shown
    assert "kidney transplant" in found_styles(lines)  # highlighted, as the keywords are
    s.find_in_report("")
    assert "match 3 of 3 (page 3)" in s.message
    s.find_in_report("")  # after the last: the first again
    shown = text_of(screen_lines(s, c, no_highlight, 80, 24))
    assert "match 1 of 3 (page 1), from the top again" in s.message and "the Kidney" in shown


def test_find_starts_at_the_line_on_top_and_says_when_nothing_matches(tmp_path):
    s, c = report_session(tmp_path), console(80, 24)
    screen_lines(s, c, no_highlight, 80, 24)
    s.scroll = 60  # on page 2 already: the first match from here is page 2's
    screen_lines(s, c, no_highlight, 80, 24)
    s.find_in_report("kidney transplant")
    screen_lines(s, c, no_highlight, 80, 24)
    assert s.message.startswith("match 2 of 3 (page 2)")
    s.find_in_report("randomised controlled")  # a word hyphenated at a line's end; only above here
    shown = text_of(screen_lines(s, c, no_highlight, 80, 24))
    assert s.message.startswith("match 1 of 1 (page 1), from the top again")
    assert "transplant in a randomised con-" in shown
    before = s.scroll
    s.find_in_report("pancreas")
    shown = text_of(screen_lines(s, c, no_highlight, 80, 24))
    assert s.message == "no match for 'pancreas' in this report" and s.message in shown
    assert s.scroll == before and found_styles(screen_lines(s, c, no_highlight, 80, 24)) == []


def test_at_full_text_slash_finds_in_the_report_and_f_searches_the_records(tmp_path):
    s = report_session(tmp_path)
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return {"Find": "transplant", "Sear": "liver"}[text[:4]]

    keys = iter(["/", "f", "/", "q"])
    run_terminal(s, console(80, 24), no_highlight, lambda: next(keys), prompt)
    assert asked[0].startswith("Find in this report") and asked[1].startswith("Search title")
    # f screened the matching records (pmid:101 shows its abstract: no report): / searches them.
    assert s.search == "liver" and s.current.id == "pmid:101" and asked[2].startswith("Search title")
    help_text = "\n".join(text_of(help_lines(s, console(100, 60), 100)))
    assert "find words in the report's text" in help_text and "search the records by words" in help_text
    assert "f search" in footer(session(tmp_path / "b", FT), 200)


def test_a_word_found_across_a_hyphen_the_reflow_kept():
    """fulltext.text's reflow joins a line break after a hyphen and keeps the hyphen ("con-trolled"):
    the report's find still finds "controlled", as it does across the break itself."""
    from screener.fulltext.text import reflow
    from screener.screening.screen.session import report_pattern

    pattern = report_pattern("randomised controlled trial")
    assert pattern.search("a randomised con-\ntrolled trial")
    joined = reflow("a randomised con-\ntrolled trial of forty patients in two centres")
    assert pattern.search(joined), joined


def test_the_forked_cache_writer_keeps_none_of_the_screens_descriptors(tmp_path):
    """The child that writes the studies' cache entry holds no descriptor of the screen's: once
    the screen is gone (Ctrl-C), its session lock is free at once, while the child still writes."""
    import fcntl
    import time

    from screener.screening.screen import save_apart

    lock = open(tmp_path / "lock", "a+")  # noqa: SIM115 - closed below, as the screen's exit does
    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    done = tmp_path / "written"

    def save() -> None:
        time.sleep(1.5)
        done.write_text("whole")

    wait = save_apart(save)
    lock.close()
    free = False
    with open(tmp_path / "lock", "a+") as again:
        for _ in range(100):  # the child lets go of its copies first thing, then writes
            try:
                fcntl.flock(again.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.01)
            else:
                free = True
                break
    assert free and not done.exists()  # free while the child is still at work
    wait()
    assert done.read_text() == "whole"


def test_the_forked_writer_is_reaped_at_once_and_quitting_waits_a_few_seconds_at_most(tmp_path, monkeypatch):
    """No zombie for the rest of the session once the child has written; a child stuck on a
    slow disk holds quitting for QUIT_WAIT_SECONDS at most (it finishes on its own)."""
    import os
    import time
    from pathlib import Path

    import screener.screening.screen.studies as studies_module
    from screener.screening.screen import save_apart

    def zombies() -> list[str]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                found.append(stat.parent.name)
        return found

    wait = save_apart(lambda: None)
    deadline = time.monotonic() + 10
    while zombies() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert zombies() == []
    wait()
    monkeypatch.setattr(studies_module, "QUIT_WAIT_SECONDS", 0.5)
    wait = save_apart(lambda: time.sleep(3))
    began = time.monotonic()
    wait()
    assert time.monotonic() - began < 2


def test_planted_abstracts_files_are_rebuilt_never_waited_on(screened):  # noqa: F811
    """The abstracts beside a studies entry: a FIFO does not hang the start, offsets that go
    back or are not whole numbers are not read; the entry is rebuilt. A writer killed
    mid-write leaves a temporary file that a later write clears."""
    import marshal
    import os
    import threading
    import time

    from screener.screening.screen import screen_studies, screen_studies_deferred
    from screener.screening.screen.studies import _studies_key

    screened.records()  # its files verified: the cache has a key
    screen_studies(screened)
    entry = screened.cache_dir / "studies" / f"{_studies_key(screened)}.marshal"
    abstracts = entry.with_suffix(".abstracts")
    whole = abstracts.read_bytes()
    size = int.from_bytes(whole[:8], "little")
    offsets = marshal.loads(whole[8 : 8 + size])
    body = whole[8 + size :]
    for planted in (
        [-5, *offsets[1:]],
        [0, *[float(o) for o in offsets[1:]]],
        [0, offsets[-1], *offsets[2:-1], offsets[-1]] if len(offsets) > 3 else [0, -1, offsets[-1]],
    ):
        header = marshal.dumps(planted)
        abstracts.write_bytes(len(header).to_bytes(8, "little") + header + body)
        assert screen_studies_deferred(screened).save is not None  # not trusted: computed again
    abstracts.unlink()
    os.mkfifo(abstracts)
    answer = []
    worker = threading.Thread(target=lambda: answer.append(screen_studies_deferred(screened)), daemon=True)
    worker.start()
    worker.join(20)
    assert answer and answer[0].save is not None
    abstracts.unlink()
    left = entry.parent / f".{abstracts.name}.abcd.tmp"
    left.write_bytes(b"half")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    answer[0].save()
    assert not left.exists() and screen_studies_deferred(screened).save is None


def test_a_search_files_kind_is_part_of_the_studies_key(screened):  # noqa: F811
    """Which copy represents a study depends on each search's kind (a chase's copy never does):
    a changed search file is a new key."""
    from screener.screening.screen.studies import _studies_key

    screened.records()  # its files verified: the cache has a key
    key = _studies_key(screened)
    assert key is not None
    search = screened.searches()[0]
    path = screened.search_toml_path(search.name)
    text = path.read_text()
    path.write_text(text + "\n# a changed search file\n")
    assert _studies_key(screened) != key
    path.write_text(text)
    assert _studies_key(screened) == key
