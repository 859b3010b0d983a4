"""Exporting final decisions as RIS, CSV and BibTeX, read back with our own importers."""

from __future__ import annotations

import csv
import io

import pytest

from screener.importers import parse_bytes
from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

from .test_prisma import GOMEZ, HOUSE, OSBORNE, build


def test_included_studies_as_ris_read_back(cli, tmp_path):
    review = build(tmp_path)
    out = cli("export", "--format", "ris", "--review", str(review.root)).out
    (record,) = parse_bytes(out.encode(), "included.ris", "ris", "x").records
    assert record.pmid == OSBORNE.removeprefix("pmid:")
    assert record.title.startswith("Improved outcome with cytoreduction")
    assert "screener decision: include" in out and "decided by: agreement" in out
    # The merged study keeps every source id (MEDLINE, Embase and the Rayyan copy).
    assert out.count("ID  - ") == 1


def test_excluded_as_csv_with_reasons_and_notes(cli, tmp_path):
    review = build(tmp_path)
    DecisionLog(decision_path(review.labels_dir, "full-text", "alice")).append(
        GOMEZ, "exclude", reason=review.config.exclusion_reasons[0], note="no survival data by arm"
    )
    path = tmp_path / "excluded.csv"
    result = cli(
        "export", "--decision", "excluded", "--format", "csv", "-o", str(path), "--review", str(review.root)
    )
    assert result.code == 0 and "exported to" in result.err
    rows = {row["study_id"]: row for row in csv.DictReader(io.StringIO(path.read_text()))}
    assert set(rows) >= {GOMEZ, HOUSE}
    assert rows[GOMEZ]["decision"] == "exclude"
    assert rows[GOMEZ]["reason"] == review.config.exclusion_reasons[0]
    assert rows[GOMEZ]["notes"] == "alice: no survival data by arm"
    assert rows[HOUSE]["decision"] == "not-retrieved"
    assert OSBORNE not in rows


def test_csv_cells_cannot_run_as_formulas(cli, tmp_path):
    root = init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")])
    review = Review(root)
    titles = [
        '=HYPERLINK("http://evil.example","click")',
        "+SUM(A1:A9)",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1,1)",
        "Liver resection for neuroendocrine metastases",
    ]
    table = tmp_path / "in.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "year", "authors"])
        for i, title in enumerate(titles):
            writer.writerow([title, 2000 + i, f"Author{i}, A"])
    review.import_file(table, "search")
    studies = review.records()
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for study in studies:
            log.append(study.id, "include")
    out = cli("export", "--stage", "title-abstract", "--format", "csv", "--review", str(root)).out
    exported = [row["title"] for row in csv.DictReader(io.StringIO(out))]
    assert sorted(exported) == sorted(["'" + t for t in titles[:4]] + [titles[4]])


def test_bibtex_round_trip_keeps_special_characters(cli, tmp_path):
    root = init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")])
    review = Review(root)
    table = tmp_path / "in.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "year", "authors", "journal", "pages", "doi"])
        writer.writerow(
            [
                "Survival & recurrence after 50% hepatectomy: a_b #1 cohort",
                2009,
                "Müller, Jörg; Smith, J",
                "HPB",
                "345-351",
                "10.1007/978-3-319-1_12#x",  # a Springer chapter's DOI holds an underscore
            ]
        )
        writer.writerow(["Another study", 2009, "Müller, Jörg", "HPB", "1-9", ""])
    review.import_file(table, "search")
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for study in review.records():
            log.append(study.id, "include")
    out = cli("export", "--stage", "title-abstract", "--format", "bibtex", "--review", str(root)).out
    assert "@article{muller2009," in out and "@article{muller2009a," in out
    back = parse_bytes(out.encode(), "x.bib", "bibtex", "x").records
    by_title = {r.title: r for r in back}
    first = by_title.get("Survival & recurrence after 50% hepatectomy: a_b #1 cohort")
    assert first is not None, list(by_title)
    assert first.authors[0].startswith("Müller") and first.pages == "345-351" and first.year == 2009
    # A DOI is verbatim in BibTeX: written unescaped, read back the same.
    assert "doi = {10.1007/978-3-319-1_12#x}" in out and first.doi == "10.1007/978-3-319-1_12#x"


# URLs an export may bring (RIS UR); only http(s), ftp and doi (or none) reach a reference manager.
EXPORT_URLS = {
    "https": ("https://example.org/a?b=1", True),
    "ftp": ("ftp://example.org/a.pdf", True),
    "doi": ("doi:10.1000/xyz", True),
    "no-scheme": ("www.example.org/a", True),
    "javascript": ("javascript:alert(document.cookie)", False),
    "javascript-mixed-case-tab": ("JaVa\tScRiPt:alert(1)", False),
    "data": ("data:text/html;base64,PHNjcmlwdD4=", False),
    "file": ("file:///etc/passwd", False),
    "vbscript": ("vbscript:msgbox(1)", False),
}


@pytest.mark.parametrize(("url", "kept"), EXPORT_URLS.values(), ids=EXPORT_URLS.keys())
def test_ris_export_drops_urls_of_unsafe_schemes(cli, tmp_path, url, kept):
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice")]))
    path = tmp_path / "in.ris"
    path.write_text(f"TY  - JOUR\nTI  - A trial\nUR  - {url}\nER  - \n")
    review.import_file(path, "s")
    (record,) = review.records()
    DecisionLog(decision_path(review.labels_dir, "title-abstract", "alice")).append(record.id, "include")
    DecisionLog(decision_path(review.labels_dir, "full-text", "alice")).append(record.id, "include")
    result = cli("export", "--format", "ris", "--review", str(review.root))
    assert result.code == 0, result
    assert ("UR  - " in result.out) == kept, result.out
    assert "script:" not in result.out.lower() and "data:" not in result.out and "file:" not in result.out
