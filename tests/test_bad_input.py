"""Bad input: a one-line error naming the file (and line), exit code 2, nothing written."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from screener.importers import read_records

from .conftest import SAMPLES


def searches_snapshot(review) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(review.searches_dir.iterdir())}


def assert_refused(cli, review, path: Path, *words: str, line: int | None = None):
    before = searches_snapshot(review)
    result = cli("import", str(path), "--search", "bad", "--review", str(review.root))
    assert result.code == 2, result
    message = result.err.strip()
    assert message.count("\n") == 0, message  # one line, no traceback
    assert message.startswith("error: ") and str(path) in message
    if line is not None:
        assert f"{path}:{line}:" in message
    for word in words:
        assert word in message.lower(), message
    assert "Traceback" not in result.err
    assert searches_snapshot(review) == before


def test_empty_file(cli, review, tmp_path):
    path = tmp_path / "empty.ris"
    path.write_bytes(b"\n\n  \n")
    assert_refused(cli, review, path, "empty")


def test_binary_file(cli, review, tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7\n\x00\x01\x02\x03binary\xff\xfe" * 50)
    assert_refused(cli, review, path, "binary")


def test_truncated_ris(cli, review, tmp_path):
    text = (SAMPLES / "embase.ris").read_text()
    cut = text[: text.rindex("T1  - Combined")]  # the second record loses its end
    path = tmp_path / "cut.ris"
    path.write_text(cut)
    line = cut[: cut.rindex("TY  -")].count("\n") + 1
    assert_refused(cli, review, path, "truncated", line=line)


def test_truncated_wos(cli, review, tmp_path):
    text = (SAMPLES / "wos.ciw").read_text()
    path = tmp_path / "cut.ciw"
    path.write_text(text[: text.index("PY 2006")])
    assert_refused(cli, review, path, "truncated", line=3)


def test_csv_without_title_column(cli, review, tmp_path):
    path = tmp_path / "no-title.csv"
    path.write_text("name,abstract,year\nfoo,bar,2001\n")
    assert_refused(cli, review, path, "title column", line=1)


def test_xml_with_foreign_doctype(cli, review, tmp_path):
    path = tmp_path / "foreign.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html><body/></html>\n'
    )
    assert_refused(cli, review, path, "doctype", line=2)


def test_truncated_pubmed_xml(cli, review, tmp_path):
    text = (SAMPLES / "pubmed.xml").read_text()
    path = tmp_path / "cut.xml"
    path.write_text(text[: text.index("</Abstract>")])
    assert_refused(cli, review, path, "pubmed xml")


def test_unrecognised_text(cli, review, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Just some notes about the search\nnothing tabular here\n")
    assert_refused(cli, review, path, "not recognised", "--format")


def test_missing_file(cli, review, tmp_path):
    assert_refused(cli, review, tmp_path / "nope.ris", "no such file")


def test_second_file_bad_means_nothing_written(cli, review, tmp_path):
    bad = tmp_path / "empty.ris"
    bad.write_text("")
    before = searches_snapshot(review)
    result = cli(
        "import", str(SAMPLES / "embase.ris"), str(bad), "--search", "embase", "--review", str(review.root)
    )
    assert result.code == 2
    assert searches_snapshot(review) == before


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_latin1_read_correctly(tmp_path, encoding):
    text = (SAMPLES / "embase.ris").read_text().replace("Osborne D.A.", "Ösbörne D.A.")
    text = text.replace("cytoreduction versus", "cytoréduction versus")
    path = tmp_path / "latin.ris"
    path.write_bytes(text.encode(encoding))
    parsed = read_records(path)
    assert parsed.encoding in ("cp1252", "latin-1")
    assert parsed.records[0].authors[0] == "Ösbörne D.A."
    assert "cytoréduction" in parsed.records[0].title


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8])
def test_bom_encodings_read_correctly(tmp_path, bom):
    text = (SAMPLES / "wos.ciw").read_text().replace("House, Michael G.", "Hoüse, Michaël G.")
    codec = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be", codecs.BOM_UTF8: "utf-8"}[
        bom
    ]
    path = tmp_path / "bom.ciw"
    path.write_bytes(bom + text.encode(codec))
    (record,) = read_records(path).records
    assert record.authors[0] == "Hoüse, Michaël G."
    assert record.pmid == "16368504"


def test_old_xls_refused(cli, review, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert_refused(cli, review, path, ".xlsx")


def test_bad_search_name_and_date(cli, review):
    result = cli("import", str(SAMPLES / "wos.ciw"), "--search", "../evil", "--review", str(review.root))
    assert result.code == 2 and "search name '../evil' starts with a dot" in result.err
    result = cli(
        "import",
        str(SAMPLES / "wos.ciw"),
        "--search",
        "wos",
        "--date-searched",
        "30/09/2012",
        "--review",
        str(review.root),
    )
    assert result.code == 2 and "YYYY-MM-DD" in result.err
    assert not any(review.searches_dir.iterdir())
