"""`screener report`: one self-contained HTML page whose numbers are the terminal's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import html5lib
import pytest

from screener.prisma import explain, prisma_counts
from screener.report import build_report, report_data
from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

from .conftest import REPO, SAMPLES

H = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

HOSTILE_TITLE = '<script>alert("title")</script> Liver resection'
HOSTILE_IMG = '"><img src=x onerror=alert(1)> Hepatectomy outcomes'
HOSTILE_REASON = "Wrong population </script><script>alert(2)</script>"
# Importers drop tags and then decode entities, so an export can still bring these titles in.
HOSTILE_RIS = """TY  - JOUR
TI  - &lt;script&gt;alert("title")&lt;/script&gt; Liver resection
AU  - Evil, Alice
PY  - 2020
JO  - &lt;b&gt;Journal&lt;/b&gt;
AN  - E1
ER  -{space}

TY  - JOUR
TI  - &quot;&gt;&lt;img src=x onerror=alert(1)&gt; Hepatectomy outcomes
AU  - Evil, Bob
PY  - 2021
DO  - 10.1000/x"onmouseover=alert(1)
AN  - E2
ER  -{space}

TY  - JOUR
TI  - A third record nobody has screened yet
AU  - Quiet, Carol
PY  - 2019
AN  - E3
ER  -{space}
""".format(space=" ")


def parse(page: str):  # noqa: ANN201 - an ElementTree element
    return html5lib.parse(page, treebuilder="etree")


def text_of(element) -> str:  # noqa: ANN001
    return " ".join(element.itertext())  # blocks apart: ids in adjacent elements never run together


def by_attr(root, name: str, value: str | None = None) -> list:  # noqa: ANN001
    return [e for e in root.iter() if name in e.attrib and (value is None or e.attrib[name] == value)]


def build(tmp_path: Path, finished: bool = True) -> Review:
    """Six database records and one from reference lists (test_prisma's), three hostile ones from
    another export; two screeners who disagree once, a resolver, full-text reasons."""
    review = Review(
        init_review(
            tmp_path / "r",
            title="<i>NET</i> review & co",
            question="Does <u>resection</u> help?",
            reviewers=[Reviewer("alice"), Reviewer("bob"), Reviewer("o'hara", "resolver")],
        )
    )
    config = review.config_path.read_text(encoding="utf-8")
    review.config_path.write_text(config.replace('"Wrong population"', json.dumps(HOSTILE_REASON)), "utf-8")
    review = Review(review.root)
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    review.import_file(SAMPLES / "embase.ris", "embase", database="Embase <b>Ovid</b>")
    review.import_file(SAMPLES / "pubmed.xml", "hand-search", database="Reference lists", kind="citations")
    hostile = tmp_path / "hostile.ris"
    hostile.write_text(HOSTILE_RIS, encoding="utf-8")
    review.import_file(hostile, "hostile", database="Scopus", query='TITLE("<script>")')
    from screener.screening import load_stage

    studies = load_stage(review, "title-abstract").records
    evil = [r.id for r in review.records("hostile")]
    with_pmid = next(r.id for r in studies if r.pmid)
    reasons = review.config.exclusion_reasons
    assert reasons[0] == HOSTILE_REASON
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for study in studies:
            if study.id == evil[1]:  # alice includes, bob excludes: a conflict the resolver settles
                log.append(study.id, "include" if reviewer == "alice" else "exclude")
            elif study.id == evil[2]:
                if finished:
                    log.append(study.id, "exclude")
            else:
                log.append(study.id, "include" if reviewer == "alice" else "maybe")
    DecisionLog(decision_path(review.labels_dir, "title-abstract", "o'hara")).append(evil[1], "include")
    others = [s.id for s in studies if s.id not in evil and s.id != with_pmid]
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "full-text", reviewer))
        log.append(evil[0], "include")
        log.append(with_pmid, "include")
        log.append(evil[1], "exclude", reason=reasons[0])
        log.append(others[0], "not-retrieved")
        for rid in others[1:] if finished else []:
            log.append(rid, "exclude", reason=reasons[1])
    return review


@pytest.fixture
def small(tmp_path: Path) -> Review:
    return build(tmp_path)


def test_the_page_is_self_contained_and_escapes_everything_from_the_review(small):
    page = build_report(small)
    root = parse(page)
    scripts = [e for e in root.iter(f"{H}script")]
    # Two scripts: the numbers as JSON and the page's own sorting code; no other can run.
    assert [s.get("type") for s in scripts] == ["application/json", None]
    assert not [e for e in root.iter() if any(a.lower().startswith("on") for a in e.attrib)]
    assert not list(root.iter(f"{H}img")) and not list(root.iter(f"{H}b")) and not list(root.iter(f"{H}i"))
    # The hostile strings are on the page as text.
    body = text_of(root)
    for hostile in (
        HOSTILE_TITLE,
        HOSTILE_IMG.strip(),
        HOSTILE_REASON,
        "<i>NET</i> review & co",
        "Embase <b>Ovid</b>",
    ):
        assert hostile in body, hostile
    assert 'TITLE("<script>")' in body and "Does <u>resection</u> help?" in body
    # Nothing is fetched: no src anywhere, no stylesheet link, and the only web links are
    # PubMed's and doi.org's for records.
    assert not by_attr(root, "src") and not list(root.iter(f"{H}link"))
    web = [e.attrib["href"] for e in by_attr(root, "href") if "//" in e.attrib["href"]]
    assert web and all(h.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://doi.org/")) for h in web)
    assert not [e for e in root.iter() if e.get(XLINK_HREF, "#").startswith(("http", "//", "javascript"))]
    assert not any('"' in h or "<" in h for h in web)  # the hostile DOI made no link, or an encoded one
    policy = [
        e.get("content") for e in root.iter(f"{H}meta") if e.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy and "default-src 'none'" in policy[0] and "script-src 'sha256-" in policy[0]
    # Accessible: a language, one h1, headed tables, titled figures.
    assert root.get("lang") == "en" and len(list(root.iter(f"{H}h1"))) == 1
    assert all(th.get("scope") in ("col", "row") for th in root.iter(f"{H}th"))
    svgs = list(root.iter(f"{SVG}svg"))
    assert svgs and all(svg.find(f"{SVG}title") is not None for svg in svgs)
    assert "@media print" in page


def test_numbers_are_the_ones_prisma_and_agreement_print(small, cli):
    page = build_report(small)
    root = parse(page)
    prisma = json.loads(cli("prisma", "--format", "json", "--review", str(small.root)).out)
    agreement = json.loads(cli("agreement", "--json", "--review", str(small.root)).out)
    counts_table = next(e for e in root.iter(f"{H}table") if e.get("id") == "prisma-counts")
    shown = {}
    for span in by_attr(counts_table, "data-key"):
        key, reason = span.get("data-key"), span.get("data-reason")
        if reason is None:
            shown[key] = int(text_of(span))
        else:
            shown.setdefault(key, {})[reason] = int(text_of(span))
    for key in (
        "database_results",
        "citations_results",
        "duplicates",
        "records_screened",
        "records_excluded",
    ):
        assert shown[key] == prisma[key], key
    for key in ("dbr_sought_reports", "dbr_notretrieved_reports", "dbr_assessed", "total_studies"):
        assert shown[key] == prisma[key], key
    assert shown["dbr_excluded"] == prisma["dbr_excluded"] and prisma["dbr_excluded"][HOSTILE_REASON] == 1
    assert prisma["total_studies"] == 2 and prisma["duplicates"] >= 1
    # Agreement: every pair of every stage, as `agreement --json` gives it.
    rows = {}
    for table in root.iter(f"{H}table"):
        if "agreement" in (table.get("class") or ""):
            for row in table.iter(f"{H}tr"):
                pair = by_attr(row, "data-pair")
                if pair:
                    rows[(table.get("data-stage"), pair[0].get("data-pair"))] = {
                        s.get("data-key"): text_of(s) for s in by_attr(row, "data-key")
                    }
    assert len(rows) == len(agreement) == 2
    for a in agreement:
        row = rows[(a["stage"], f"{a['reviewer_1']}/{a['reviewer_2']}")]
        assert int(row["n"]) == a["n"]
        assert row["kappa"].startswith("n/a" if a["kappa"] is None else format(a["kappa"], ".3f"))
        if a["kappa_ci_low"] is not None:
            assert f"({a['kappa_ci_low']:.3f} to {a['kappa_ci_high']:.3f})" in row["kappa"]
        assert row["pabak"] == format(a["pabak"], ".3f")
        assert row["percent_agreement"] == f"{a['percent_agreement'] * 100:.1f}%"
        assert [int(row[f"cell{k}"]) for k in range(4)] == list(a["table"].values())
    # The JSON on the page for scripts carries the same numbers.
    data = json.loads(text_of(next(e for e in root.iter(f"{H}script") if e.get("id") == "report-data")))
    assert data["prisma"] == prisma and data["agreement"] == agreement


def test_every_box_links_to_a_list_holding_every_one_of_its_record_ids(small):
    page = build_report(small)
    root = parse(page)
    counts = prisma_counts(small)
    lists: dict[str, str] = {}
    for div in by_attr(root, "data-box"):
        lists[div.get("data-box")] = lists.get(div.get("data-box"), "") + " " + text_of(div)
    for box in counts.boxes:
        assert box in lists, box
        words = lists[box].split()
        assert all(i in words for i in explain(counts, box)), box
    for reason, ids in counts.exclusion_reasons.items():
        assert set(ids) <= set(" ".join(text_of(d) for d in by_attr(root, "data-reason", reason)).split())
    # The diagram's boxes are links to anchors that exist on the page, in-progress mark or not.
    anchors = {e.get("id") for e in root.iter() if e.get("id")}
    diagram = next(svg for svg in root.iter(f"{SVG}svg") if svg.get("class") == "diagram")
    targets = {a.get(XLINK_HREF) for a in diagram.iter(f"{SVG}a")}
    expected = {"#box-identified", "#box-removed", "#box-records_screened", "#box-records_excluded"}
    expected |= {"#box-dbr_assessed", "#box-dbr_excluded", "#box-total_studies", "#box-identified-other"}
    assert expected <= targets and all(t[1:] in anchors for t in targets)
    assert "IN PROGRESS" not in text_of(diagram)


def test_a_review_in_progress_says_so_in_the_diagram_and_above_it(tmp_path):
    review = build(tmp_path, finished=False)
    data = report_data(review)
    assert data.counts.in_progress
    root = parse(build_report(review))
    diagram = next(svg for svg in root.iter(f"{SVG}svg") if svg.get("class") == "diagram")
    assert "IN PROGRESS" in text_of(diagram) and "not final" in text_of(diagram.find(f"{SVG}title"))
    notes = [text_of(p) for p in root.iter(f"{H}p") if p.get("class") == "in-progress"]
    assert notes and data.counts.in_progress_text() in notes[0]


def test_ranking_curves_follow_each_screeners_decisions_in_order(small):
    data = report_data(small)
    alice = next(c for c in data.curves if c.reviewer == "alice")
    ta = json.loads(json.dumps(data.to_dict()))["stages"][0]
    assert alice.screened == ta["reviewers"]["alice"]["screened"] and alice.total == ta["records"]
    assert alice.found == ta["reviewers"]["alice"]["included"]
    assert alice.points[0] == (0, 0) and alice.points[-1] == (alice.screened, alice.found)
    assert all(b[0] > a[0] and b[1] >= a[1] for a, b in zip(alice.points, alice.points[1:], strict=False))
    # The stopping rule's own words, as the screen shows them, on alice's decisions in order.
    from screener.ranking.stopping import live_estimate
    from screener.screening import load_stage

    decided = sorted(
        load_stage(small, "title-abstract").decisions["alice"].values(), key=lambda d: d.timestamp
    )
    said = live_estimate([int(d.includes) for d in decided], alice.total, ranked=True).describe()
    assert alice.statement.startswith(said) and "relevant found" in said
    root = parse(build_report(small))
    curves = [svg for svg in root.iter(f"{SVG}svg") if svg.get("class") == "curve"]
    assert [text_of(svg.find(f"{SVG}title")) for svg in curves] == [
        "Recall curve of alice",
        "Recall curve of bob",
    ]
    stops = [text_of(p) for p in root.iter(f"{H}p") if p.get("class") == "stopping"]
    assert len(stops) == 2 and alice.statement in stops[0]


def test_a_new_review_with_nothing_in_it_still_makes_a_page(review):
    root = parse(build_report(review))
    assert "Test review" in text_of(root.find(f".//{H}h1"))
    assert "No searches yet." in text_of(root) and "No study is included yet." in text_of(root)


def test_worked_example_page_matches_prisma_and_agreement(tmp_path, cli):
    root_dir = tmp_path / "lesurtel"
    root_dir.mkdir()
    shutil.copy(REPO / "review.toml", root_dir / "review.toml")
    shutil.copytree(REPO / "searches", root_dir / "searches")
    shutil.copytree(REPO / "labels", root_dir / "labels")
    example = Review(root_dir)
    root = parse(build_report(example))
    prisma = json.loads(cli("prisma", "--format", "json", "--review", str(root_dir)).out)
    agreement = json.loads(cli("agreement", "--json", "--review", str(root_dir)).out)
    shown = {
        s.get("data-key"): int(text_of(s))
        for s in by_attr(root, "data-key")
        if s.get("data-reason") is None and s.get("data-key") in prisma
    }
    assert shown["total_studies"] == prisma["total_studies"] == 38
    assert {k: shown[k] for k in shown} == {k: prisma[k] for k in shown}
    data = json.loads(text_of(next(e for e in root.iter(f"{H}script") if e.get("id") == "report-data")))
    assert data["prisma"] == prisma and data["agreement"] == agreement
    included = next(t for t in root.iter(f"{H}table") if t.get("id") == "included-table")
    assert len(list(included.find(f"{H}tbody"))) == 38
    links = [a.get("href") for a in included.iter(f"{H}a")]
    assert "https://pubmed.ncbi.nlm.nih.gov/16511671/" in links
    counts = prisma_counts(example)
    page_words = set(text_of(root).split())
    for box in counts.boxes:
        assert set(explain(counts, box)) <= page_words, box


def test_cli_writes_the_page_where_asked_and_refuses_a_bad_path_before_any_work(small, cli, tmp_path):
    out = tmp_path / "out.html"
    result = cli("report", "-o", str(out), "--review", str(small.root))
    assert (
        result.code == 0
        and "Report written to" in result.err
        and out.read_text().startswith("<!DOCTYPE html>")
    )
    written, printed = out.read_text(), cli("report", "-o", "-", "--review", str(small.root)).out
    assert written.replace(_generated(written), "T") == printed.replace(_generated(printed), "T")
    missing = tmp_path / "no-such-folder" / "r.html"
    result = cli("report", "-o", str(missing), "--review", str(small.root))
    assert result.code == 2 and "does not exist" in result.err and not missing.parent.exists()
    inside = small.root / "labels" / "report.html"
    result = cli("report", "-o", str(inside), "--review", str(small.root))
    assert result.code == 2 and not inside.exists()
    # The default is report.html in the current folder.
    assert (
        cli("report", "--review", str(small.root), cwd=tmp_path).code == 0
        and (tmp_path / "report.html").is_file()
    )
    data = json.loads(cli("report", "--json", "--review", str(small.root)).out)
    assert data["prisma"] == json.loads(cli("prisma", "--format", "json", "--review", str(small.root)).out)
    # --json with -o named: said, not the page silently skipped (new-user helper)
    both = cli("report", "--json", "-o", str(tmp_path / "r.html"), "--review", str(small.root))
    assert both.code == 2 and "drop -o" in both.err and not (tmp_path / "r.html").exists()
    assert "Example" in cli("report", "--help").out


def _generated(page: str) -> str:
    """The build time on a page (two builds a second apart differ only there)."""
    return json.loads(page.split('id="report-data">', 1)[1].split("</script>", 1)[0])["generated"]


def test_an_updated_review_shows_the_updated_flow_and_the_previous_studies(tmp_path, cli):
    from screener.update import update_review

    from .test_prisma import OSBORNE
    from .test_prisma import build as build_round_one

    review = build_round_one(tmp_path)
    update_review(review, imports=[("rayyan", SAMPLES / "rayyan.csv"), ("ovid", SAMPLES / "ovid.ris")])
    prisma = json.loads(cli("prisma", "--format", "json", "--review", str(review.root)).out)
    assert prisma["round"] == 2 and prisma["previous_studies"] == 1
    root = parse(build_report(review))
    body = text_of(root)
    assert "Updated review: round 2" in body
    shown = {
        s.get("data-key"): int(text_of(s)) for s in by_attr(root, "data-key") if s.get("data-key") in prisma
    }
    assert shown["previous_studies"] == 1 and shown["records_screened"] == prisma["records_screened"]
    previous = next(d for d in by_attr(root, "data-box", "previous_studies"))
    assert OSBORNE in text_of(previous).split()
    diagram = next(svg for svg in root.iter(f"{SVG}svg") if svg.get("class") == "diagram")
    targets = {a.get(XLINK_HREF) for a in diagram.iter(f"{SVG}a")}
    assert {"#box-previous_studies", "#box-new_studies", "#box-total_studies"} <= targets
    # Issue #22: the header counted every round's records, the diagram one round's; it says which.
    header = " ".join(text_of(next(root.iter("{http://www.w3.org/1999/xhtml}header"))).split())
    rounds = f"round 1: {len(review.records()) - prisma['database_results']}, round 2: 4"
    assert f"{len(review.records())} records over 2 rounds ({rounds})" in header
    assert f"the flow diagram counts round 2's {prisma['database_results']}" in header


def test_a_pool_of_three_screeners_gets_fleiss_kappa_and_every_pair(tmp_path, cli):
    review = Review(
        init_review(tmp_path / "pool", reviewers=[Reviewer("alice"), Reviewer("bob"), Reviewer("dave")])
    )
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    review.import_file(SAMPLES / "ovid.ris", "ovid", database="Ovid")
    from screener.screening import load_stage

    ids = [r.id for r in load_stage(review, "title-abstract").records]
    votes = {"alice": "iiei", "bob": "ieei", "dave": "ieee"}
    for name, pattern in votes.items():
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", name))
        for rid, vote in zip(ids, pattern, strict=False):
            log.append(rid, "include" if vote == "i" else "exclude")
    status = json.loads(cli("status", "--json", "--review", str(review.root)).out)
    agreement = json.loads(cli("agreement", "--json", "--review", str(review.root)).out)
    root = parse(build_report(review))
    line = next(p for p in by_attr(root, "data-stage", "title-abstract") if p.get("class") == "fleiss")
    fleiss = by_attr(line, "data-key", "fleiss_kappa")
    expected = status["stages"][0]["fleiss_kappa"]
    assert len(fleiss) == 1 and text_of(fleiss[0]) == ("n/a" if expected is None else f"{expected:.3f}")
    pairs = {p.get("data-pair") for p in by_attr(root, "data-pair")}
    assert pairs == {f"{a['reviewer_1']}/{a['reviewer_2']}" for a in agreement} and len(pairs) == 3


def test_dollar_signs_in_the_review_are_text_not_formulas(tmp_path):
    title = r"Costs from $\badcmd to $5"  # matplotlib would read this as a (broken) formula
    review = Review(init_review(tmp_path / "money", title=title, reviewers=[Reviewer("alice")]))
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE $x$")
    root = parse(build_report(review))
    diagram = next(svg for svg in root.iter(f"{SVG}svg") if svg.get("class") == "diagram")
    assert title in text_of(diagram) and "MEDLINE $x$" in text_of(diagram)
    assert not [p for p in root.iter(f"{H}p") if p.get("class") == "warning"]


def test_pairs_decided_by_a_person_are_listed_with_who_decided(small):
    from screener.dedup.decisions import append_decision

    ids = [r.id for r in small.records("hostile")]
    append_decision(small.dedup_decisions_path, ids[0], ids[2], "different", reviewer="alice")
    root = parse(build_report(small))
    section = next(e for e in root.iter(f"{H}section") if e.get("id") == "dedup")
    body = text_of(section)
    assert "Pairs decided by a person (labels/dedup.csv): 1:" in " ".join(body.split())
    rows = [r for r in section.iter(f"{H}tr") if ids[0] in text_of(r)]
    assert len(rows) == 1 and "different" in text_of(rows[0]) and "alice" in text_of(rows[0])
