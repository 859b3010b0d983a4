"""Readability as a person sees it: commands at 80 columns (and narrower and wider), the report's
tables and diagram at 1280 px, the screen's header, plurals, notes and tags where decisions are
shown."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from screener.cli.common import Table
from screener.review import Review, Reviewer, init_review
from screener.screening import load_stage
from screener.screening.decisions import DecisionLog, decision_path

from .conftest import SAMPLES
from .test_screening import GOMEZ, HOUSE, OSBORNE, SARMIENTO, TA, screened  # noqa: F401  (fixture)

ELIAS = "pmid:19464140"


@pytest.fixture
def team(tmp_path) -> Review:
    """The worked example's names (as long as a real team's), five studies."""
    names = [Reviewer("reviewer-a"), Reviewer("reviewer-b"), Reviewer("resolver-c", "resolver")]
    review = Review(init_review(tmp_path / "team", reviewers=names))
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    review.import_file(SAMPLES / "embase.ris", "embase", database="Embase")
    review.import_file(SAMPLES / "wos.ciw", "wos", database="Web of Science")
    review.import_file(SAMPLES / "pubmed.xml", "pubmed", database="PubMed")
    review.import_file(SAMPLES / "endnote.xml", "endnote", database="EndNote library")
    return review


def render(table: Table, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(table)
    return console.file.getvalue().splitlines()


def column_texts(lines: list[str]) -> list[str]:
    """Each body column's cells, the lines of a folded cell joined without a space (as a split
    number would read)."""
    rows = [line.split("│")[1:-1] for line in lines if line.startswith("│")]
    return ["".join(c[k].strip() for c in rows) for k in range(len(rows[0]))] if rows else []


# (columns, cells) that rich squeezed below their numbers at 80 columns and less.
NUMBER_TABLES = [
    (
        ("stage", "pair", "n", "agreement", "kappa (95% CI)", "PABAK", "2x2 (II, IE, EI, EE)"),
        ("title-abstract", "reviewer-a / reviewer-b", "1110", "93.7%", "0.716 (0.653 to 0.779)", "0.874",
         "106, 33, 37, 934"),
    ),
    (
        ("reviewer", "screened", "progress", "included (incl. maybe)", "still need their vote", "title"),
        ("a-rather-long-reviewer-name", "12,345", "99.9%", "1,234", "4,321", "word " * 40),
    ),
]


@pytest.mark.parametrize("width", [64, 72, 80, 100])
@pytest.mark.parametrize(("columns", "cells"), NUMBER_TABLES)
def test_numbers_in_a_table_never_wrap(columns, cells, width):
    table = Table(title="numbers")
    for column in columns:
        table.add_column(column)
    table.add_row(*cells)
    lines = render(table, width)
    assert all(len(line) <= width for line in lines)
    numbers = [w for cell in cells for w in cell.split() if re.fullmatch(r"[(]?[\d.,%]+[)]?,?", w)]
    body = [line for line in lines if line.startswith("│")]
    for number in numbers:
        assert any(re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.%])", line) for line in body), (
            number,
            "\n".join(lines),
        )


def test_agreement_at_80_columns_keeps_every_number_whole(cli, team, monkeypatch):
    root = str(team.root)
    ids = [r.id for r in load_stage(team, TA).records]
    assert len(ids) >= 4
    for k, rid in enumerate(ids):
        cli("label", "--reviewer", "reviewer-a", rid, "include" if k % 2 else "exclude", "--review", root)
        cli("label", "--reviewer", "reviewer-b", rid, "include" if k % 3 else "exclude", "--review", root)
    (a,) = json.loads(cli("agreement", "--stage", TA, "--json", "--review", root).out)
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("agreement", "--stage", TA, "--review", root)
    lines = result.out.splitlines()
    assert result.code == 0 and all(len(line) <= 80 for line in lines)
    body = "\n".join(line for line in lines if line.startswith("│"))
    wanted = [f"{a['kappa']:.3f}", f"{a['pabak']:.3f}", f"{a['percent_agreement']:.1%}", str(a["n"])]
    wanted += [f"{a['kappa_ci_low']:.3f}", f"{a['kappa_ci_high']:.3f}"]
    for number in wanted:
        assert number in body, (number, result.out)


def test_conflicts_at_80_columns_two_lines_a_record_ids_whole(cli, screened, monkeypatch):  # noqa: F811
    root = str(screened.root)
    for rid in (OSBORNE, HOUSE, GOMEZ, SARMIENTO, ELIAS):
        cli("label", "--reviewer", "alice", rid, "include", "--review", root)
        cli("label", "--reviewer", "bob", rid, "exclude", "--review", root)
    rows = json.loads(cli("conflicts", "--json", "--review", root).out)
    assert len(rows) == 5
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("conflicts", "--review", root)
    lines = result.out.splitlines()
    assert result.code == 0 and all(len(line) <= 80 for line in lines)
    assert len(lines) == 1 + 2 * len(rows)  # a heading, then two lines a record
    for row in rows:
        head = next(k for k, line in enumerate(lines) if line.startswith(row["record_id"] + " "))
        assert "alice: include · bob: exclude" in lines[head]
        title = " ".join(row["title"].split())
        shown = lines[head + 1].strip()
        assert shown == title or (shown.endswith("…") and title.startswith(shown[:-1]))


def test_a_resolvers_summary_is_on_a_line_of_its_own(team):
    from .test_screen_pty import Terminal

    ids = [r.id for r in load_stage(team, TA).records]
    DecisionLog(decision_path(team.labels_dir, TA, "reviewer-a")).append(ids[0], "include")
    DecisionLog(decision_path(team.labels_dir, TA, "reviewer-b")).append(ids[0], "exclude")
    term = Terminal(team, 24, 80, "resolve", "--reviewer", "resolver-c")
    term.wait_for(f"· {ids[0]}")
    term.press("i")
    term.wait_for("The 1 record of")
    term.press("q")
    term.wait_for("resolved")
    said = next(line for line in term.lines if "resolved" in line)
    assert said.startswith("1 of 1 conflict resolved"), term.text()  # not after the key list


def test_the_header_says_when_the_ranking_is_ready_without_a_key(team, tmp_path):
    """The ranking is built in the background (seconds on a large review): the header says
    so, and says it no more once it is ready, without waiting for a key."""
    import os
    import sys

    import pexpect

    from .test_screen_pty import Terminal

    slow = tmp_path / "slow"
    slow.mkdir()
    # The child reads its records slowly: a ranking that takes a while to build.
    (slow / "sitecustomize.py").write_text(
        "import time\n"
        "import screener.ranking as ranking\n"
        "build = ranking.Ranker.__init__\n"
        "def slow(self, *args, **kwargs):\n"
        "    time.sleep(2)\n"
        "    build(self, *args, **kwargs)\n"
        "ranking.Ranker.__init__ = slow\n"
    )
    term = Terminal.__new__(Terminal)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm", PYTHONPATH=os.pathsep.join([str(slow), *sys.path]))
    term.child = pexpect.spawn(
        sys.executable, ["-m", "screener", "screen", "--reviewer", "reviewer-a"], cwd=str(team.root),
        env=env, encoding="utf-8", dimensions=(24, 100), timeout=30,
    )
    import pyte

    term.screen = pyte.Screen(100, 24)
    term.stream = pyte.Stream(term.screen)
    term.wait_for("ranking: reading the records")
    for _ in range(100):  # no key pressed
        term._pump(0.2)
        if "ranking" not in term.lines[0]:
            break
    assert "screened" in term.lines[0] and "ranking" not in term.lines[0], term.text()
    term.quit()


# -- the report at 1280 px -------------------------------------------------------------------

VIEWPORT = 1280
SVG = "{http://www.w3.org/2000/svg}"


def css_rule(page: str, selector: str) -> str:
    style = re.search(r"<style>(.*?)</style>", page, re.DOTALL).group(1)
    return re.search(rf"(?m)^{re.escape(selector)} \{{([^}}]*)\}}", style).group(1)


def column_width(page: str) -> float:
    """The page's text column at 1280 px: body's max-width less its side padding (rem, 16 px)."""
    body = css_rule(page, "body")
    width = min(VIEWPORT, float(re.search(r"max-width: (\d+)px", body).group(1)))
    side = float(re.search(r"padding: [\d.]+rem ([\d.]+)rem", body).group(1)) * 16
    return width - 2 * side


def test_the_diagrams_box_text_reads_at_11_px_and_keeps_the_database_indent(team):
    import html5lib

    from screener.report import build_report

    page = build_report(team)
    rule = css_rule(page, "svg.diagram")
    shown = column_width(page)
    limit = re.search(r"max-width: (\d+)px", rule)
    if limit:
        shown = min(shown, float(limit.group(1)))
    root = html5lib.parse(page, treebuilder="etree")
    svg = next(e for e in root.iter(f"{SVG}svg") if e.get("class") == "diagram")
    scale = shown / float(svg.get("viewBox").split()[2])
    texts = [t for t in svg.iter(f"{SVG}text") if "IN PROGRESS" not in "".join(t.itertext())]
    sizes = {float(re.search(r"font-size: ([\d.]+)px", t.get("style")).group(1)) for t in texts}
    assert min(sizes) * scale >= 11, (min(sizes), scale)
    lines = ["".join(t.itertext()) for t in texts]
    # SVG collapses leading spaces: each database's line keeps its indent in no-break spaces.
    for database in ("MEDLINE", "Embase", "Web of Science"):
        line = next(line for line in lines if line.lstrip().startswith(database))
        assert line.startswith("\u00a0\u00a0" + database), repr(line)


def noted_conflict(review: Review) -> str:
    """A conflict whose screeners left notes and tags; returns its id."""
    rid = load_stage(review, TA).records[0].id
    DecisionLog(decision_path(review.labels_dir, TA, "reviewer-a")).append(
        rid, "include", note="NOTE-A adults only", tags="rct; adults"
    )
    log = DecisionLog(decision_path(review.labels_dir, TA, "reviewer-b"))
    log.append(rid, "exclude", note="NOTE-B a review")
    return rid


def test_the_resolver_sees_each_screeners_note_and_tags(team):
    from .test_screen_pty import Terminal

    rid = noted_conflict(team)
    term = Terminal(team, 24, 80, "resolve", "--reviewer", "resolver-c")
    term.wait_for(f"· {rid}")
    text = term.text()
    a = next(line for line in term.lines if line.startswith("reviewer-a: include"))
    b = next(line for line in term.lines if line.startswith("reviewer-b: exclude"))
    assert "NOTE-A adults only" in a and "tags: rct; adults" in a, text
    assert "NOTE-B a review" in b, text
    term.quit()


def test_the_report_shows_notes_and_tags_in_its_conflicts_and_included_tables(team):
    import html5lib

    from screener.report import build_report

    H = "{http://www.w3.org/1999/xhtml}"
    rid = noted_conflict(team)
    included = load_stage(team, TA).records[1].id
    for who, note in (("reviewer-a", "FT-NOTE-A"), ("reviewer-b", "")):
        DecisionLog(decision_path(team.labels_dir, TA, who)).append(included, "include")
        DecisionLog(decision_path(team.labels_dir, "full-text", who)).append(
            included, "include", note=note, tags="cohort" if who == "reviewer-b" else ""
        )
    root = html5lib.parse(build_report(team), treebuilder="etree")

    def rows(table_test) -> dict[str, str]:  # noqa: ANN001
        table = next(t for t in root.iter(f"{H}table") if table_test(t))
        return {
            "".join(tr[0].itertext()): " ".join(" ".join(tr.itertext()).split())
            for tr in table.find(f"{H}tbody")
        }

    conflicts = rows(lambda t: "conflicts" in (t.get("class") or ""))
    assert "NOTE-A adults only" in conflicts[rid] and "tags: rct; adults" in conflicts[rid]
    assert "NOTE-B a review" in conflicts[rid]
    studies = rows(lambda t: t.get("id") == "included-table")
    assert "reviewer-a (full text): — FT-NOTE-A" in studies[included]
    assert "reviewer-b (full text): tags: cohort" in studies[included]


def test_a_long_id_wraps_only_after_punctuation_and_every_table_can_scroll():
    from screener.report.page import record_id, table

    doi = "doi:10.1097/sla.0b013e31816a9d65.this-is-a-very-long-suffix-of-a-doi"
    html = record_id(doi)
    assert re.sub(r"<[^>]+>", "", html) == doi  # the id whole, nothing added
    pieces = re.sub(r"<(?!wbr>)[^>]+>", "", html).split("<wbr>")
    assert len(pieces) > 3 and all(re.search(r"[/.:_-]$", p) for p in pieces[:-1])
    assert "<wbr>" not in record_id("pmid:16511671")  # a short id never wraps
    page = table(("record",), [(html,)])
    assert page.startswith("<div class=table-scroll><table") and page.endswith("</table></div>")


@pytest.mark.parametrize(
    ("count", "words", "said"),
    [
        (0, ("conflict",), "0 conflicts"),
        (1, ("conflict",), "1 conflict"),
        (2, ("conflict",), "2 conflicts"),
        (1, ("study", "studies"), "1 study"),
        (3, ("study", "studies"), "3 studies"),
    ],
)
def test_plural(count, words, said):
    from screener.words import plural

    assert plural(count, *words) == said


def test_one_of_a_kind_is_said_in_the_singular(cli, team, tmp_path):
    root = str(team.root)
    noted_conflict(team)
    for command in (("status",), ("check",)):
        result = cli(*command, "--review", root)
        assert "1 conflict to resolve" in result.out + result.err, (command, result)
        assert not re.search(r"\b1 (conflicts|records|studies|decisions)\b", result.out + result.err)
    out = tmp_path / "page.html"
    result = cli("report", "-o", str(out), "--review", root)
    assert "(0 studies included" in " ".join(result.err.split())
    assert "1 conflict to resolve" in " ".join(out.read_text().split())
