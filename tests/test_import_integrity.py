"""Imports keep every record or refuse the file: the format is read from the file's start, a
file cut off is refused, two articles under one PMID are refused, records without a title are
harmless, and only regular files are read (never a device or a FIFO)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from screener import textio
from screener.dedup import deduplicate
from screener.errors import ImportFormatError, ScreenerError
from screener.importers import detect_format, parse_bytes, read_records
from screener.records import Record, finalise
from screener.textio import read_export_bytes, read_user_text

from .conftest import FIXTURES, SAMPLES, needs_shared, stored_export


def searches_snapshot(review) -> dict[str, bytes]:
    folder = review.searches_dir
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def assert_refused(cli, review, path: Path, *words: str, line: int | None = None) -> str:
    """`screener import` exits 2 with one line naming the file (and line), writing nothing."""
    before = searches_snapshot(review)
    result = cli("import", str(path), "--search", "bad", "--review", str(review.root))
    assert result.code == 2, result
    message = result.err.strip()
    assert message.count("\n") == 0 and "Traceback" not in message, message
    assert message.startswith(f"error: {path}"), message
    if line is not None:
        assert message.startswith(f"error: {path}:{line}: "), message
    for word in words:
        assert word.lower() in message.lower(), message
    assert searches_snapshot(review) == before
    return message


def within(seconds: float, function, *args):
    """function(*args) in a thread; fails instead of hanging the test run if it blocks."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} still blocked after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


# -- 1. the format comes from the file's start, never from text inside a field ---------------


def csv_with_tag_lines(rows: int = 12) -> str:
    """A CSV whose abstracts hold lines that look like RIS and MEDLINE tags."""
    body = "".join(
        f'"Title {n}","Abstract {n}:\nTY  - JOUR\nPMID- {1000 + n}\nER  - ",{2000 + n}\n' for n in range(rows)
    )
    return "title,abstract,year\n" + body


@pytest.mark.parametrize("name", ["export.txt", "export.csv"])
def test_csv_with_tag_lines_in_cells_keeps_every_row(tmp_path: Path, name: str):
    path = tmp_path / name
    path.write_text(csv_with_tag_lines())
    parsed = read_records(path)
    assert parsed.format == "csv"
    assert [r.title for r in parsed.records] == [f"Title {n}" for n in range(12)]
    assert parsed.records[3].abstract == "Abstract 3: TY - JOUR PMID- 1003 ER -"  # white space folded


def test_medline_tag_in_first_cell_is_still_csv(tmp_path: Path):
    path = tmp_path / "export.txt"
    path.write_text('title,abstract\n"PMID- 123","x"\n"Second","y"\n')
    assert [r.title for r in read_records(path).records] == ["PMID- 123", "Second"]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("TY  - JOUR\nTI  - A\nER  - \n", "ris"),
        ("\ufeff\n\nTY  - JOUR\n", "ris"),
        ("1. \r\nTY  - JOUR\r\n", "ris"),  # Ovid numbers its records
        ("3001.\nTY  - JOUR\n", "ris"),
        ("<1>\nTY  - JOUR\n", "ris"),
        ('Record #1 of 2\nProvider: X\nContent: text/plain; charset="UTF-8"\n1.\nTY  - JOUR\n', "ris"),
        ("\nPMID- 123\nOWN - NLM\n", "medline"),
        ("PMC - PMC1\nPMID- 1\n", "medline"),
        ("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\n", "wos"),
        ("PT J\nAU Smith, J\n", "wos"),
        ("% JabRef\n\n@article{a,\n title={T}}\n", "bibtex"),
        ("@ARTICLE{Que1995,\n", "bibtex"),
        ('<?xml version="1.0"?>\n<!-- c -->\n<xml><records><record/></records></xml>', "endnote-xml"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "x" "y">\n<PubmedArticleSet>',
            "pubmed-xml",
        ),
        ("<PubmedArticleSet>\n<PubmedArticle>", "pubmed-xml"),
        ("<html><body>", "html"),
        ("title;abstract\na;b\n", "csv"),
        # A tag line further in decides nothing: the start is not RIS, MEDLINE or a table.
        ("Search results\n\nTY  - JOUR\nER  - \n", "unknown"),
        ("Notes about the search\nPMID- 123\n", "unknown"),
    ],
)
def test_detection_reads_the_start(start: str, expected: str):
    assert detect_format(start, "export.txt") == expected


def test_every_sample_detected_as_before(tmp_path: Path):
    expected = {
        "medline.nbib": "medline",
        "embase.ris": "ris",
        "ovid.ris": "ris",
        "cochrane.ris": "ris",
        "wos.ciw": "wos",
        "pubmed.xml": "pubmed-xml",
        "endnote.xml": "endnote-xml",
        "scopus.bib": "bibtex",
        "rayyan.csv": "csv",
        "asreview.csv": "csv",
    }
    for name, fmt in expected.items():
        assert detect_format((SAMPLES / name).read_text(encoding="utf-8-sig"), "x.txt") == fmt, name


# -- 2. files cut off are refused ----------------------------------------------------------


def medline_text() -> str:
    return (SAMPLES / "medline.nbib").read_text()


def test_medline_cut_inside_last_record_refused(cli, review, tmp_path: Path):
    text = medline_text()
    last = text.rindex("PMID- ")
    path = tmp_path / "cut.nbib"
    path.write_text(text[: text.index("AB  - ", last) + 30])  # cut inside the abstract
    line = text[:last].count("\n") + 1
    assert_refused(cli, review, path, "cut off", "export it again", line=line)


def test_medline_cut_after_first_line_of_last_record_refused(tmp_path: Path):
    text = medline_text()
    path = tmp_path / "cut.nbib"
    path.write_text(text[: text.rindex("PMID- ") + 8])
    with pytest.raises(ImportFormatError, match="cut off"):
        read_records(path)


def test_medline_single_record_cut_refused(tmp_path: Path):
    text = medline_text()
    path = tmp_path / "cut.nbib"
    path.write_text(text[: text.index("TI  - ") + 20])
    with pytest.raises(ImportFormatError, match="no 'SO  - ' line"):
        read_records(path)


def test_medline_without_final_line_break_is_whole(tmp_path: Path):
    # PubMed's own files may end inside the SO line's text, with no line break.
    path = tmp_path / "pubmed.nbib"
    path.write_text(medline_text().rstrip("\n"))
    assert len(read_records(path).records) == 2


def test_medline_from_elsewhere_without_so_lines_is_read(tmp_path: Path):
    # No record has SO: the file was not written by PubMed, and nothing says it is cut.
    text = "\n".join(line for line in medline_text().splitlines() if not line.startswith("SO  - "))
    path = tmp_path / "other.nbib"
    path.write_text(text)
    assert len(read_records(path).records) == 2


def test_medline_records_without_blank_line_between_refused(cli, review, tmp_path: Path):
    text = medline_text()
    second = text.rindex("\n\nPMID- ")
    glued = text[:second] + text[second + 1 :]  # one blank line less: Biopython read them as one
    path = tmp_path / "glued.nbib"
    path.write_text(glued)
    line = glued[: second + 1].count("\n") + 1
    assert_refused(cli, review, path, "second 'PMID' line", "no blank line", line=line)


def test_medline_continuation_without_tag_refused(tmp_path: Path):
    path = tmp_path / "odd.nbib"
    path.write_text("PMID- 1\nTI  - A\nSO  - X\n\n      stray continuation\nPMID- 2\nTI  - B\nSO  - Y\n")
    with pytest.raises(ImportFormatError, match="continuation line") as info:
        read_records(path)
    assert info.value.line == 5


def test_bibtex_cut_refused_in_one_line(cli, review, tmp_path: Path):
    text = (SAMPLES / "scopus.bib").read_text()
    second = text.index("@article{strosberg")
    path = tmp_path / "cut.bib"
    path.write_text(text[: second + 200])
    # One line: bibtexparser's own log lines about the entry stay quiet.
    assert_refused(cli, review, path, "not closed", "cut off", line=text[:second].count("\n") + 1)


def test_csv_cut_inside_quoted_cell_refused(cli, review, tmp_path: Path):
    path = tmp_path / "cut.csv"
    path.write_text('title,abstract,year\n"First","One",2001\n"Second","An abstract that goes\non and is cut')
    assert_refused(cli, review, path, "never closed", "cut off", line=3)


def test_csv_last_row_cut_refused(cli, review, tmp_path: Path):
    path = tmp_path / "cut.csv"
    path.write_text('title,abstract,year,doi\n"First","One",2001,10.1000/a\nSecond,Two')
    assert_refused(cli, review, path, "2 of the header's 4 cells", "cut off", line=3)


def test_csv_last_row_with_multiline_cell_cut_refused(tmp_path: Path):
    path = tmp_path / "cut.csv"
    path.write_text('title,abstract,year,doi\n"First","One",2001,x\n"Second","Two\nlines ""quoted""",2002')
    with pytest.raises(ImportFormatError, match="3 of the header's 4 cells") as info:
        read_records(path)
    assert info.value.line == 3


def test_csv_short_last_row_ending_with_line_break_is_kept(tmp_path: Path):
    # Excel leaves out a row's trailing empty cells; the line break shows the row is whole.
    path = tmp_path / "excel.csv"
    path.write_text("title,abstract,year,doi\nFirst,One,2001,10.1000/a\nSecond,Two\n")
    records = read_records(path).records
    assert [r.title for r in records] == ["First", "Second"] and records[1].year is None


def test_csv_without_final_line_break_is_whole(tmp_path: Path):
    # Zotero writes no line break after the last row.
    path = tmp_path / "zotero.csv"
    path.write_text('"Title","Abstract Note"\n"First","One"\n"Second","Two\nlines"')
    assert [r.abstract for r in read_records(path).records] == ["One", "Two lines"]


def test_csv_first_row_longer_than_header_refused(tmp_path: Path):
    # pandas would take the first cell as a row name and shift every column of every row.
    path = tmp_path / "shifted.csv"
    path.write_text("title,abstract,year\nA title, with a comma,An abstract,2001\nB,C,2002\n")
    with pytest.raises(ImportFormatError, match="more cells than the header") as info:
        read_records(path)
    assert info.value.line == 2


def test_csv_row_of_empty_cells_kept_out(tmp_path: Path):
    # Spreadsheets export rows of empty cells below the data; such a row is no record (issue
    # #22: kept out of screening with a warning, where it was refused with the whole file).
    path = tmp_path / "sheet.csv"
    path.write_text("title,abstract,year\nFirst,One,2001\n\n,,\nSecond,Two,2002\n")
    parsed = read_records(path)
    assert [r.title for r in parsed.records] == ["First", "Second"]
    assert parsed.empty == ["record 2 (line 4)"]


# -- 3. two articles under one PMID ----------------------------------------------------------


def test_identical_copies_of_a_pmid_are_one_record(tmp_path: Path):
    text = medline_text()
    first = text[: text.index("\n\nPMID- ") + 1]
    path = tmp_path / "twice.nbib"
    path.write_text(first + "\n" + first)
    records = read_records(path).records
    assert len(records) == 2 and records[0].id == records[1].id == "pmid:16511671"
    assert len(deduplicate(records).clusters) == 1


def test_same_pmid_with_a_respelt_title_is_accepted(tmp_path: Path):
    path = tmp_path / "spelling.csv"
    path.write_text(
        "pmid,title\n"
        "123,Randomised trial of hepatic resection for metastases\n"
        "123,Randomized trial of hepatic resection for metastases.\n"
    )
    assert {r.id for r in read_records(path).records} == {"pmid:123"}


def test_same_pmid_different_titles_refused(cli, review, tmp_path: Path):
    text = medline_text()
    second = text.index("PMID- ", text.index("\n\nPMID- "))
    changed = text[:second] + text[second:].replace("PMID- 18345317", "PMID- 16511671", 1)
    assert changed != text
    path = tmp_path / "clash.nbib"
    path.write_text(changed)
    line = changed[:second].count("\n") + 1
    message = assert_refused(cli, review, path, "PMID 16511671", "record 1 (line 1) and record 2", line=line)
    assert "Improved outcome" in message and "would be lost" in message


def test_same_pmid_different_titles_in_csv_refused(tmp_path: Path):
    path = tmp_path / "clash.csv"
    path.write_text(
        "pmid,title\n123,Hepatic resection for metastases\n456,Other\n123,A trial of aspirin in stroke\n"
    )
    with pytest.raises(ImportFormatError, match=r"record 1 \(line 2\) and record 3 \(here\)") as info:
        read_records(path)
    assert info.value.line == 4 and "PMID 123" in str(info.value)


# -- 4. records without a title ---------------------------------------------------------------

TITLELESS_RIS = (
    "TY  - JOUR\nAU  - Smith, J\nPY  - 2001\nER  - \n\n"
    "TY  - JOUR\nAU  - Jones, P\nPY  - 2003\nAB  - An abstract about liver resection\nER  - \n"
)


def test_titleless_records_import_and_every_command_runs(cli, review, tmp_path: Path):
    ris = tmp_path / "no-titles.ris"
    ris.write_text(TITLELESS_RIS)
    table = tmp_path / "rows.csv"
    table.write_text(
        "title,abstract,year\n,An abstract only,2004\nA titled record on liver surgery,Text,2005\n"
    )
    root = str(review.root)
    assert cli("import", str(ris), "--search", "ris", "--review", root).code == 0
    assert cli("import", str(table), "--search", "csv", "--review", root).code == 0
    for command in (
        ["status"],
        ["dedup"],
        ["prisma"],
        ["conflicts"],
        ["agreement"],
        ["rank", "--reviewer", "reviewer1"],
        ["export", "--format", "csv"],
    ):
        result = cli("--review", root, *command)
        assert result.code == 0, (command, result)
        assert "Traceback" not in result.err and "internal error" not in result.err, (command, result)


def test_dedup_of_records_without_titles_and_identifiers():
    # No title, no identifier: nothing to block on. This raised inside numpy.
    records = [finalise(Record(authors=["Smith, J"], year=2001, search="a"), n) for n in range(3)]
    result = deduplicate(records)
    assert len(result.clusters) == 3 and result.pairs == []


def test_titleless_records_match_on_identifiers_never_on_the_empty_title():
    def record(n: int, **fields) -> Record:
        return finalise(Record(search="s", authors=["Smith, J"], year=2001, **fields), n)

    same_page = [record(n, volume="3", pages="12-15") for n in range(2)]  # nothing but details
    by_doi = [record(2, doi="10.1000/one"), record(3, title="A titled article", doi="10.1000/one")]
    by_pmid = [record(4, pmid="99"), record(5, title="Another titled article", pmid="99")]
    both_untitled = [record(6, pmid="77"), record(7, pmid="77")]
    result = deduplicate(same_page + by_doi + by_pmid + both_untitled)
    assert sorted(map(sorted, result.clusters)) == [[0], [1], [2, 3], [4, 5], [6, 7]]
    assert all(p.title == 0 for p in result.pairs)  # two empty titles are not "100% alike"


def test_titleless_record_does_not_join_a_supplements_abstracts():
    # One DOI for a whole supplement: the record without a title cannot say which abstract it
    # is, so it must not chain them into one study.
    doi = "10.1007/s00125-017-4350-z"
    records = [
        finalise(Record(search="a", title="Abstract one on liver metastases", doi=doi), 0),
        finalise(Record(search="a", title="Abstract two on pancreatic tumours", doi=doi), 1),
        finalise(Record(search="b", authors=["Smith, J"], doi=doi), 0),
    ]
    result = deduplicate(records)
    assert len(result.clusters) == 3
    assert {p.label for p in result.pairs if "without a title" in p.reason} == {"uncertain"}


def test_empty_record_kept_out_with_a_warning(cli, review, tmp_path: Path):
    path = tmp_path / "empty-record.ris"
    data = b"TY  - JOUR\nTI  - A title\nER  - \n\nTY  - JOUR\nER  - \n"
    path.write_bytes(data)
    result = cli("import", str(path), "--search", "x", "--review", str(review.root))
    assert result.code == 0, result
    assert "warning:" in result.err and "1 empty record (record 2 (line 5))" in result.err, result
    assert stored_export(review, "x").read_bytes() == data  # the raw file unchanged
    assert [r.title for r in review.records()] == ["A title"]
    assert review.empty_records() == {"x": 1}
    check = cli("check", "--review", str(review.root))
    stored = review.search("x").files[0].path
    assert f"searches/{stored}: 1 empty record kept out of screening" in check.err + check.out, check


def test_empty_record_in_medline_kept_out(tmp_path: Path):
    path = tmp_path / "empty.nbib"
    path.write_text(medline_text() + "\nLA  - eng\nSO  - x\n")
    parsed = read_records(path)
    assert len(parsed.records) == 2 and len(parsed.empty) == 1 and parsed.empty[0].startswith("record 3")


# Blank entries as each format writes them (reference managers export `TY  - GEN`/`ER  -`).
EMPTY_RECORDS = {
    "ris-gen": ("e.ris", "TY  - JOUR\nTI  - One\nER  -\n\nTY  - GEN\nER  -\n\nTY  - JOUR\nTI  - Two\nER  -"),
    "ris-first": ("f.ris", "TY  -\nER  -\n\nTY  - JOUR\nTI  - One\nER  - \n\nTY  - JOUR\nTI  - Two\nER  -\n"),
    "medline": ("m.nbib", "PMID- 1\nTI  - One\nSO  - X\n\nLA  - eng\n\nPMID- 2\nTI  - Two\nSO  - Y\n"),
    "bibtex": ("b.bib", "@article{a, title={One}}\n@misc{b,}\n@article{c, title={Two}}\n"),
    "csv": ("c.csv", "title,abstract,year\nOne,a,2001\n,,\nTwo,b,2002\n"),
    "wos": (
        "w.ciw",
        "FN Clarivate Analytics Web of Science\nVR 1.0\n"
        "PT J\nTI One\nER\n\nPT J\nER\n\nPT J\nTI Two\nER\n\nEF\n",
    ),
    "endnote-xml": (
        "e.xml",
        "<xml><records><record><titles><title>One</title></titles></record><record></record>"
        "<record><titles><title>Two</title></titles></record></records></xml>",
    ),
}


@pytest.mark.parametrize(("name", "text"), EMPTY_RECORDS.values(), ids=EMPTY_RECORDS.keys())
def test_empty_records_of_every_format_kept_out_and_counted(review, tmp_path: Path, name, text):
    path = tmp_path / name
    path.write_text(text)
    result = review.import_file(path, "s")
    assert [r.title for r in review.records()] == ["One", "Two"]
    assert result.parsed.empty and review.search("s").files[0].empty == 1
    assert review.empty_records() == {"s": 1}
    assert (review.searches_dir / result.stored_as).read_text() == text


@needs_shared
@pytest.mark.parametrize("name", ["baseline_reference_types.ris", "baseline_tag-notes.ris"])
def test_fixtures_with_blank_entries_import(review, name):
    """ASReview's test exports hold blank entries (every reference type, empty; notes only)."""
    path = FIXTURES / "asreview_demo_exports" / name
    result = review.import_file(path, "asreview")
    assert result.added and result.parsed.empty
    assert review.empty_records() == {"asreview": len(result.parsed.empty)}


# -- files stored by an earlier version keep their records ------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "count", "new"),
    [
        ("cut.nbib", "PMID- 1\nTI  - Whole\nSO  - X\n\nPMID- 2\nTI  - Cut off", 2, None),
        ("glued.nbib", "PMID- 1\nTI  - One\nSO  - X\nPMID- 2\nTI  - Two\nSO  - Y\n", 1, None),
        ("blank-rows.csv", "title,abstract\nA,a\n,\nB,b\n", 3, 2),
        ("short-last-row.csv", "title,abstract,year\nA,a,2001\nB", 2, None),
        ("shifted.csv", "title,abstract\nA,with comma,a\nB,b\n", 2, None),
        ("empty-record.ris", "TY  - JOUR\nTI  - A\nER  - \n\nTY  - JOUR\nER  - \n", 2, 1),
        ("pmid-clash.csv", "pmid,title\n7,Liver resection\n7,Aspirin in stroke\n", 2, None),
    ],
)
def test_stored_file_read_as_when_imported(name: str, text: str, count: int, new: int | None):
    """A file a review already holds gives the records it gave when it was imported (earlier
    versions accepted these), so the review's counts and decisions stay; a new import of the
    same file is refused, or (an empty record) gives the records to screen without it."""
    data = text.encode()
    assert len(parse_bytes(data, name, strict=False).records) == count
    if new is None:
        with pytest.raises(ImportFormatError):
            parse_bytes(data, name)
    else:
        assert len(parse_bytes(data, name).records) == new


# -- 5. only regular files are read ------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_device_refused(cli, review):
    with pytest.raises(ImportFormatError, match="device"):
        within(10, read_export_bytes, "/dev/zero")
    assert_refused(cli, review, Path("/dev/zero"), "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_refused_without_waiting(cli, review, tmp_path: Path):
    fifo = tmp_path / "export.ris"
    os.mkfifo(fifo)
    with pytest.raises(ImportFormatError, match="named pipe"):
        within(10, read_export_bytes, fifo)
    with pytest.raises(ScreenerError, match="named pipe"):
        within(10, read_user_text, fifo, "query file")
    assert_refused(cli, review, fifo, "named pipe")


def test_directory_and_missing_file_refused(tmp_path: Path):
    with pytest.raises(ImportFormatError, match="is a directory"):
        read_export_bytes(tmp_path)
    with pytest.raises(ImportFormatError, match="no such file"):
        read_export_bytes(tmp_path / "missing.ris")


def test_export_over_the_size_limit_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "big.ris"
    path.write_bytes(b"TY  - JOUR\n" * 100)
    monkeypatch.setattr(textio, "MAX_EXPORT_BYTES", 1000)
    with pytest.raises(ImportFormatError, match=r"too large \(1,100 bytes; at most 1,000\)"):
        read_export_bytes(path)


def test_symlink_named_by_the_user_is_followed(tmp_path: Path):
    link = tmp_path / "link.ris"
    link.symlink_to(SAMPLES / "embase.ris")
    assert len(read_records(link).records) == 2


# -- 6. query files in the encodings people save them in --------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("café AND (liver OR hépatique)\n".encode(), "café AND (liver OR hépatique)\n"),
        ("café AND liver".encode("cp1252"), "café AND liver"),
        ("“liver” – resection".encode("cp1252"), "“liver” – resection"),
        (b"\xef\xbb\xbf" + "café".encode(), "café"),
        ("café".encode("utf-16"), "café"),  # Notepad's "Unicode"
        ("café AND liver".encode("utf-16-le"), "café AND liver"),  # no BOM (issue #22)
        ("café AND liver".encode("utf-16-be"), "café AND liver"),
    ],
)
def test_read_user_text_encodings(tmp_path: Path, data: bytes, expected: str):
    path = tmp_path / "query.txt"
    path.write_bytes(data)
    assert read_user_text(path, "query file") == expected


def test_read_user_text_refuses_binary_and_huge(tmp_path: Path):
    binary = tmp_path / "query.docx"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary" * 20)
    with pytest.raises(ScreenerError, match="not a text file") as info:
        read_user_text(binary, "query file")
    assert info.value.path == str(binary) and "query file" in info.value.hint
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"a" * (textio.MAX_USER_TEXT_BYTES + 1))
    with pytest.raises(ScreenerError, match="too large"):
        read_user_text(huge, "query file")


# -- the real exports ------------------------------------------------------------------------------


@needs_shared
def test_real_nbib_exports_cut_are_refused(tmp_path: Path):
    for name in ("nbib_pubmed_export/pubmed-balloongui-set.nbib", "revtools_exports/restoration_pubmed.nbib"):
        source = FIXTURES / name
        if not source.exists():
            pytest.skip(f"{name} is not in this copy of the shared data")
        text = source.read_text(encoding="utf-8")
        whole = tmp_path / "whole.nbib"
        shutil.copy(source, whole)
        assert len(read_records(whole).records) > 50
        last = text.rindex("PMID- ")
        for cut in (last + 200, (last + len(text)) // 2, text.rindex("SO  - ") - 1):
            path = tmp_path / "cut.nbib"
            path.write_text(text[:cut], encoding="utf-8")
            with pytest.raises(ImportFormatError, match="cut off"):
                read_records(path)


@needs_shared
def test_real_zotero_csv_cut_is_refused(tmp_path: Path):
    source = FIXTURES / "asysd_exports/zotero_export.csv"
    if not source.exists():
        pytest.skip("zotero_export.csv is not in this copy of the shared data")
    data = source.read_bytes()
    assert len(parse_bytes(data, "zotero.csv").records) == 1233  # no final line break, yet whole
    for cut in (len(data) // 2, len(data) - 3000, len(data) - 50):
        with pytest.raises(ImportFormatError, match="cut off"):
            parse_bytes(data[:cut], "zotero.csv")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_export_without_bom_is_read(tmp_path: Path, codec: str):
    """Not 'a binary file': the NUL in every other byte says UTF-16 (issue #22)."""
    path = tmp_path / "export.ris"
    path.write_bytes("TY  - JOUR\r\nTI  - Hépatectomie\r\nER  - \r\n".encode(codec))
    parsed = read_records(path)
    assert [r.title for r in parsed.records] == ["Hépatectomie"] and parsed.encoding == codec


# A stray '}' closes a BibTeX entry early: the fields after it are lost, so import says so.
EARLY_CLOSE = {
    "brace-after-journal": (
        "@article{a,\n  title={One},\n  journal={J}},\n  author={Smith, J},\n  year={2001}\n}\n",
        3,
        "author, year",
    ),
    "brace-after-title": (
        '@article{a, title="One"},\n  year = 2001,\n}\n@article{b, title={Two}}',
        1,
        "year",
    ),
}


@pytest.mark.parametrize(("text", "line", "lost"), EARLY_CLOSE.values(), ids=EARLY_CLOSE.keys())
def test_bibtex_entry_closed_early_warns(cli, review, tmp_path: Path, text: str, line: int, lost: str):
    path = tmp_path / "refs.bib"
    path.write_text(text)
    parsed = read_records(path)
    assert parsed.records[0].title == "One"
    assert len(parsed.warnings) == 1 and parsed.warnings[0].startswith(f"{path}:{line}: "), parsed.warnings
    assert "entry 'a' ends early" in parsed.warnings[0] and f"({lost})" in parsed.warnings[0]
    result = cli("import", str(path), "--search", "bib", "--review", str(review.root))
    assert result.code == 0 and f"warning: {path}:{line}: BibTeX entry 'a'" in result.err, result


def test_bibtex_comments_between_entries_are_no_warning(tmp_path: Path):
    path = tmp_path / "refs.bib"
    path.write_text("% Encoding: UTF-8\n@article{a, title={One}}\n\nNotes, a = b\n@article{b, title={Two}}")
    assert read_records(path).warnings == []
