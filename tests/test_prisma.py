"""PRISMA 2020 counts from the review's files, each box traceable to record ids."""

from __future__ import annotations

import json

from screener.prisma import prisma_counts
from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

from .conftest import SAMPLES

OSBORNE, GOMEZ, HOUSE = "pmid:16511671", "pmid:18345317", "pmid:16368504"
SARMIENTO, ELIAS = "pmid:12490844", "pmid:19464140"


def build(tmp_path) -> Review:
    review = Review(
        init_review(
            tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob"), Reviewer("carol", "resolver")]
        )
    )
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    review.import_file(SAMPLES / "embase.ris", "embase", database="Embase")
    review.import_file(SAMPLES / "wos.ciw", "wos", database="Web of Science")
    review.import_file(SAMPLES / "pubmed.xml", "hand-search", database="Reference lists", kind="citations")
    review.import_file(SAMPLES / "endnote.xml", "endnote", database="CENTRAL")
    ta = {OSBORNE: "include", GOMEZ: "include", HOUSE: "include", SARMIENTO: "include", ELIAS: "exclude"}
    reason = review.config.exclusion_reasons[0]
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for rid, decision in ta.items():
            log.append(rid, decision)
        log = DecisionLog(decision_path(review.labels_dir, "full-text", reviewer))
        log.append(OSBORNE, "include")
        log.append(GOMEZ, "exclude", reason=reason)
        log.append(HOUSE, "not-retrieved")
        log.append(SARMIENTO, "exclude", reason=reason)
    return review


def test_counts_for_every_box(tmp_path):
    review = build(tmp_path)
    counts = prisma_counts(review).to_dict()
    assert counts["database_results"] == 6 and counts["citations_results"] == 1
    assert counts["database_results_by_database"] == {
        "MEDLINE": 2,
        "Embase": 2,
        "Web of Science": 1,
        "CENTRAL": 1,
    }
    assert counts["duplicates"] == 2  # Osborne and Elias were each found twice
    assert counts["records_screened"] == 4  # Sarmiento came only from the reference lists
    assert counts["records_excluded"] == 1
    assert counts["dbr_sought_reports"] == 3 and counts["dbr_notretrieved_reports"] == 1
    assert counts["dbr_assessed"] == 2 and counts["dbr_excluded"] == {review.config.exclusion_reasons[0]: 1}
    assert counts["other_sought_reports"] == 1 and counts["other_assessed"] == 1
    assert counts["other_excluded"] == {review.config.exclusion_reasons[0]: 1}
    assert counts["new_studies"] == 1 == counts["total_studies"]
    assert counts["pending"] == {"title-abstract": 0, "full-text": 0}
    # Every record is in exactly one identification box.
    identified = sum(
        counts[k]
        for k in (
            "database_results",
            "register_results",
            "website_results",
            "organisation_results",
            "citations_results",
        )
    )
    assert identified == len(review.records())


def test_cli_json_and_explain(cli, tmp_path):
    review = build(tmp_path)
    data = json.loads(cli("prisma", "--format", "json", "--review", str(review.root)).out)
    assert data["new_studies"] == 1
    # #14: each removed copy with its search and the record it joined, not a bare id.
    explained = cli("prisma", "--explain", "duplicates", "--review", str(review.root)).out.splitlines()
    assert len(explained) == 2 and all(" -> " in line and line.count("(") == 2 for line in explained)
    assert cli("prisma", "--explain", "new_studies", "--review", str(review.root)).out.split() == [OSBORNE]
    unknown = cli("prisma", "--explain", "nothing", "--review", str(review.root))
    assert unknown.code == 2 and "boxes:" in unknown.err
    assert cli("prisma", "--review", str(review.root)).code == 0


def test_diagram_in_every_format(cli, tmp_path):
    review = build(tmp_path)
    for suffix in ("svg", "png", "pdf"):
        path = tmp_path / f"prisma.{suffix}"
        result = cli("prisma", "--diagram", str(path), "--review", str(review.root))
        assert result.code == 0, result
        assert path.stat().st_size > 5_000
    svg = (tmp_path / "prisma.svg").read_text()
    for text in (
        "Identification",
        "Records screened",
        "Duplicate records removed",
        "Citation searching",
        "Studies included in review",
    ):
        assert text in svg, text
    assert (tmp_path / "prisma.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "prisma.pdf").read_bytes()[:5] == b"%PDF-"
    bad = cli("prisma", "--diagram", str(tmp_path / "prisma.gif"), "--review", str(review.root))
    assert bad.code == 2


def test_csv_fills_the_prisma2020_template(cli, tmp_path):
    import csv
    import io

    review = build(tmp_path)
    out = cli("prisma", "--format", "csv", "--review", str(review.root)).out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"]
    by_key = {row["data"]: row for row in rows if row["data"] != "NA"}
    assert by_key["database_results"]["n"] == "6" and by_key["database_results"]["node"] == "node7"
    assert by_key["duplicates"]["n"] == "2" and by_key["records_screened"]["n"] == "4"
    assert by_key["total_studies"]["n"] == "1" and by_key["previous_studies"]["n"] == "0"
    reason = review.config.exclusion_reasons[0].replace(",", " ")
    assert by_key["dbr_excluded"]["n"] == f"{reason}, 1"
    assert set(by_key["database_specific_results"]["n"].split("; ")) == {
        "MEDLINE, 2",
        "Embase, 2",
        "Web of Science, 1",
        "CENTRAL, 1",
    }
    # Every box of the package's template is there, in its order.
    assert [row["box"] for row in rows][:3] == ["prevstud", "box1", "box1"]
    assert len(rows) == 34
    # The package's December 2024 rows: studies in a meta-analysis, from review.toml's [prisma].
    assert [row["data"] for row in rows][-2:] == ["total_studies_ma", "total_reports_ma"]
    assert by_key["total_studies_ma"]["url"] == "total_studies_meta_analysis.html"
    with review.config_path.open("a") as handle:
        handle.write("\n[prisma]\nmeta_analysis_studies = 1\nmeta_analysis_reports = 1\n")
    out = cli("prisma", "--format", "csv", "--review", str(review.root)).out
    filled = {row["data"]: row["n"] for row in csv.DictReader(io.StringIO(out))}
    assert filled["total_studies_ma"] == "1" == filled["total_reports_ma"]


def test_prisma_mid_review_says_what_is_open(tmp_path, cli):
    """Counts and diagram of a review still being screened say so: keys in the JSON, a line in
    the text, a mark on the diagram; a finished review has none of them."""
    review = build(tmp_path)
    finished = json.loads(cli("--review", str(review.root), "prisma", "--format", "json").out)
    assert finished["in_progress"] is False and finished["duplicate_pairs_undecided"] == 0
    root = str(review.root)
    assert cli("import", str(SAMPLES / "ovid.ris"), "--search", "ovid", "--review", root).code == 0
    data = json.loads(cli("--review", str(review.root), "prisma", "--format", "json").out)
    assert data["in_progress"] is True
    waiting = data["awaiting"]["title-abstract"]
    assert (
        waiting["undecided"] >= 1
        and waiting["undecided"] + waiting["open"] + waiting["conflicts"]
        == (data["pending"]["title-abstract"])
    )
    text = cli("--review", str(review.root), "prisma").out
    assert "In progress, not final: title-abstract:" in text
    # The summary line calls no unscreened record "screened" (new-user helper).
    flat = " ".join(text.split())
    assert "for screening →" in flat and "for full-text assessment →" in flat and " screened →" not in flat
    svg = tmp_path / "flow.svg"
    assert cli("--review", str(review.root), "prisma", "--diagram", str(svg)).code == 0
    assert "IN PROGRESS" in svg.read_text() and "In progress, not final" in svg.read_text()


def test_explain_duplicates_names_each_copy_its_search_and_the_record_it_joined(tmp_path, cli):
    review = build(tmp_path)
    root = str(review.root)
    counts = prisma_counts(review)
    rows = json.loads(cli("--review", root, "prisma", "--explain", "duplicates", "--format", "json").out)
    assert len(rows) == counts.count("duplicates") > 0
    searches = {s.name for s in review.searches()}
    for row in rows:
        assert row["search"] in searches and row["merged_into_search"] in searches
        assert (row["record_id"], row["search"]) != (row["merged_into"], row["merged_into_search"])
    text = cli("--review", root, "prisma", "--explain", "duplicates").out.splitlines()
    first = rows[0]
    kept = f"{first['merged_into']} ({first['merged_into_search']})"
    assert text[0] == f"{first['record_id']} ({first['search']}) -> {kept}"


def test_dollar_signs_from_the_review_are_drawn_as_text(cli, tmp_path):
    """A title or database name with two "$" is text, not a matplotlib formula (a bad formula
    failed the drawing with an internal error)."""
    root = tmp_path / "money"
    assert cli("init", str(root), "--title", r"Costs from $\badcmd to $5", "--reviewer", "alice").code == 0
    imported = cli(
        "import",
        str(SAMPLES / "medline.nbib"),
        "--search",
        "medline",
        "--database",
        "MEDLINE $x$",
        "--review",
        str(root),
    )
    assert imported.code == 0, imported
    path = tmp_path / "prisma.svg"
    result = cli("prisma", "--diagram", str(path), "--review", str(root))
    assert result.code == 0, result
    svg = path.read_text()
    assert "MEDLINE $x$" in svg and r"$\badcmd" in svg


def test_a_not_retrieved_at_title_abstract_counts_the_same_in_status_and_prisma(tmp_path):
    """Issue #22: a not-retrieved at title/abstract (a labels file written by hand) was excluded in
    PRISMA and not retrieved in status. PRISMA 2020: not retrieved follows sought for retrieval."""
    from screener.screening import load_stages, review_studies

    review = build(tmp_path)
    for reviewer in ("alice", "bob"):
        DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer)).append(
            ELIAS, "not-retrieved"
        )
    counts = prisma_counts(review)
    data = counts.to_dict()
    assert ELIAS not in counts.boxes["records_excluded"] and data["records_excluded"] == 0
    assert ELIAS in counts.boxes["dbr_sought_reports"] and ELIAS in counts.boxes["dbr_notretrieved_reports"]
    assert data["records_screened"] == data["records_excluded"] + data["dbr_sought_reports"]
    assert data["dbr_sought_reports"] == data["dbr_notretrieved_reports"] + data["dbr_assessed"]
    progress = {
        stage: view.progress() for stage, view in load_stages(review, *review_studies(review)).items()
    }
    ta, ft = progress["title-abstract"], progress["full-text"]
    assert (
        ta["not_retrieved"] == 1
        and ta["excluded"] == data["records_excluded"] + data["other_records_excluded"]
    )
    not_retrieved = data["dbr_notretrieved_reports"] + data["other_notretrieved_reports"]
    assert not_retrieved == ta["not_retrieved"] + ft["not_retrieved"] == 2


def test_csv_keeps_every_text_it_can_and_says_which_names_the_template_cannot_hold(cli, tmp_path):
    """Issue #22: commas in exclusion reasons were rewritten silently. The PRISMA2020 package's
    format forbids them in these cells (PRISMA_parse_reasons_ cuts a name at its first ","), so
    they still change there, with a warning; read as the package reads them, every name and
    count comes back."""
    import csv
    import io
    import re
    import tomllib

    import tomli_w

    review = build(tmp_path)
    reason = "Wrong population, adults; not children"
    config = tomllib.loads(review.config_path.read_text())
    config["full_text"]["exclusion_reasons"] = [reason]
    review.config_path.write_text(tomli_w.dumps(config))
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "full-text", reviewer))
        log.append(GOMEZ, "exclude", reason=reason)
        log.append(SARMIENTO, "exclude", reason=reason)
    result = cli("prisma", "--format", "csv", "--review", str(review.root))
    assert result.code == 0
    said = f"warning: exclusion reason {reason!r} is written as 'Wrong population  adults  not children'"
    assert said in result.err
    by_key = {row["data"]: row for row in csv.DictReader(io.StringIO(result.out)) if row["data"] != "NA"}
    assert by_key["records_screened"]["description"] == "Records screened (databases and registers)"
    for key in ("dbr_excluded", "other_excluded"):  # as the package splits them
        entries = re.split(r"; ?", by_key[key]["n"])
        parsed = [(re.sub(r",.*$", "", e), int(e.rsplit(",", 1)[1])) for e in entries]
        assert parsed == [("Wrong population  adults  not children", 1)]
    data = json.loads(cli("prisma", "--format", "json", "--review", str(review.root)).out)
    assert data["dbr_excluded"] == {reason: 1} == data["other_excluded"]  # the JSON keeps the text
def test_empty_records_are_removed_before_screening_and_the_column_adds_up(tmp_path):
    """Blank entries of an export (kept out of screening at import) are identified, then
    'removed for other reasons' (PRISMA 2020), so identified - removed = screened."""
    review = Review(init_review(tmp_path / "r"))
    path = tmp_path / "blank.ris"
    blank = "TY  - GEN\nER  -\n\n"
    path.write_text("TY  - JOUR\nTI  - One\nER  -\n\n" + blank * 2 + "TY  - JOUR\nTI  - Two\nER  -\n")
    review.import_file(path, "embase", database="Embase")
    counts = prisma_counts(review)
    assert counts.count("database_results") == 4 and counts.per_database == {"Embase": 4}
    assert counts.count("excluded_other") == 2
    removed = counts.count("duplicates") + counts.count("excluded_automatic") + counts.count("excluded_other")
    assert counts.count("database_results") - removed == counts.count("records_screened") == 2
