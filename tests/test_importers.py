"""Each importer against export files in its database's real layout (tests/samples), checking
the mapped fields of known records, plus format detection and the record id rules."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from screener.errors import ImportFormatError
from screener.importers import detect_format, parse_bytes, read_records
from screener.records import normalise_doi, normalise_pmid, parse_year

from .conftest import SAMPLES


def by_title(records, start):
    matches = [r for r in records if r.title.lower().startswith(start.lower())]
    assert len(matches) == 1, [r.title for r in records]
    return matches[0]


def test_medline_fields():
    parsed = read_records(SAMPLES / "medline.nbib", search="medline")
    assert parsed.format == "medline"
    assert len(parsed.records) == 2
    osborne = parsed.records[0]
    assert osborne.id == "pmid:16511671"
    assert osborne.pmid == "16511671"
    assert osborne.doi == "10.1245/aso.2006.03.071"
    assert osborne.title.startswith(
        "Improved outcome with cytoreduction versus embolization for symptomatic hepatic metastases"
    )
    assert osborne.authors == ["Osborne, Dale A", "Zervos, Emmanuel E", "Strosberg, Jonathan"]
    assert osborne.year == 2006
    assert osborne.journal == "Annals of surgical oncology"
    assert osborne.journal_abbrev == "Ann Surg Oncol"
    assert (osborne.volume, osborne.issue, osborne.pages) == ("13", "4", "572-81")
    assert "Liver Neoplasms/secondary/therapy" in osborne.mesh
    assert osborne.publication_types == ["Comparative Study", "Journal Article"]
    assert osborne.abstract.startswith("BACKGROUND: Patients with symptomatic")
    assert "  " not in osborne.abstract
    gomez = parsed.records[1]
    assert gomez.authors[-1] == "Leeds Hepatobiliary Group"
    assert gomez.year == 2007


def test_medline_crlf_same_records():
    data = (SAMPLES / "medline.nbib").read_bytes()
    lf = parse_bytes(data, "a.nbib").records
    crlf = parse_bytes(data.replace(b"\n", b"\r\n"), "b.nbib").records
    assert [r.to_dict() for r in lf] == [r.to_dict() for r in crlf]


def test_embase_ris_fields():
    parsed = read_records(SAMPLES / "embase.ris", search="embase")
    assert parsed.format == "ris"
    osborne, elias = parsed.records
    assert osborne.id == "doi:10.1245/aso.2006.03.071"
    assert osborne.source_id == "embase:L43567890"
    assert osborne.authors == ["Osborne D.A.", "Zervos E.E.", "Strosberg J."]
    assert osborne.title.endswith("metastases of carcinoid and neuroendocrine tumors")
    assert osborne.journal == "Annals of Surgical Oncology"
    assert osborne.journal_abbrev == "Ann. Surg. Oncol."
    assert osborne.pages == "572-581"
    assert osborne.year == 2006
    assert osborne.abstract.startswith("Background: Patients")
    assert osborne.keywords == ["liver metastasis", "neuroendocrine tumor", "hepatectomy"]
    # No DOI and no PMID: the Embase accession number identifies it.
    assert elias.id == "embase:L50460001"


def test_cochrane_library_ris_fields():
    osborne, trial = read_records(SAMPLES / "cochrane.ris", search="central").records
    # "AN - PUBMED nnn" is the Cochrane Library's way of giving the PMID.
    assert osborne.pmid == "16511671" and osborne.id == "pmid:16511671"
    assert osborne.source_id == "cochrane:CN-00569412"
    assert osborne.authors[0] == "Osborne, D. A." and osborne.pages == "572-581"
    assert osborne.journal == "Annals of surgical oncology"
    # No PMID and no DOI: CENTRAL's accession number identifies it.
    assert trial.pmid == "" and trial.id == "cochrane:CN-00988001"
    assert trial.doi == ""  # the URL's 10.1002/central/... DOI names the CENTRAL entry, not the trial


def test_ovid_ris_numbering_crlf_and_trailer():
    parsed = read_records(SAMPLES / "ovid.ris")
    assert len(parsed.records) == 2
    kian, que = parsed.records
    assert kian.doi == "10.1097/sla.0b013e31816a7061"
    assert kian.authors == ["Kianmanesh, Reza", "Sauvanet, Alain"]
    assert kian.year == 2008 and kian.journal == "Annals of Surgery"
    assert kian.pages == "659-665"
    assert que.id.startswith("h:")  # nothing global: content hash


def test_wos_tagged_fields():
    parsed = read_records(SAMPLES / "wos.ciw")
    assert parsed.format == "wos"
    (house,) = parsed.records
    assert house.pmid == "16368504"
    assert house.id == "pmid:16368504"
    assert house.source_id == "wos:000234917200021"
    assert house.authors == ["House, Michael G.", "Cameron, John L."]
    assert house.title == (
        "Differences in survival for patients with resectable versus unresectable metastases "
        "from pancreatic islet cell cancer"
    )
    assert house.journal == "JOURNAL OF GASTROINTESTINAL SURGERY"
    assert house.journal_abbrev == "J. Gastrointest. Surg."
    assert house.pages == "138-145"
    assert house.keywords == [
        "pancreatic islet cell cancer",
        "liver metastases",
        "NEUROENDOCRINE TUMORS",
        "HEPATIC RESECTION",
    ]


def test_pubmed_xml_fields_and_markup():
    parsed = read_records(SAMPLES / "pubmed.xml")
    assert parsed.format == "pubmed-xml"
    (record,) = parsed.records
    assert record.id == "pmid:12490844"
    assert record.doi == "10.1067/msy.2002.128615"
    assert record.title.endswith("outcomes of an aggressive approach.")
    assert "<i>" not in record.title
    assert record.abstract == (
        "BACKGROUND: Islet cell cancers often present with liver metastases. "
        "METHODS: Concurrent resections were reviewed."
    )
    assert record.authors == ["Sarmiento, Juan M", "Que, Florencia G", "Mayo Clinic Pancreas Group"]
    assert record.year == 2002
    assert (record.journal, record.volume, record.issue) == ("Surgery", "132", "6")
    assert record.mesh == ["Humans", "Liver Neoplasms"]
    assert record.keywords == ["islet cell carcinoma"]


def test_pubmed_xml_newer_dtd_read_offline():
    # A DTD newer than the ones Biopython bundles must not send the parser to the network.
    text = (SAMPLES / "pubmed.xml").read_text().replace("pubmed_250101.dtd", "pubmed_990101.dtd")
    (record,) = parse_bytes(text.encode(), "new.xml").records
    assert record.pmid == "12490844"


def test_pubmed_xml_without_doctype():
    lines = (SAMPLES / "pubmed.xml").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.startswith("<!DOCTYPE"))
    (record,) = parse_bytes(text.encode(), "bare.xml").records
    assert record.pmid == "12490844"


def test_endnote_xml_fields():
    parsed = read_records(SAMPLES / "endnote.xml")
    assert parsed.format == "endnote-xml"
    (elias,) = parsed.records
    assert elias.pmid == "19464140"
    assert elias.doi == "10.1016/j.ejso.2009.02.017"
    assert elias.authors == ["Elias, D.", "Goere, D."]
    assert elias.journal == "European Journal of Surgical Oncology"
    assert elias.journal_abbrev == "Eur J Surg Oncol"
    assert (elias.year, elias.volume, elias.issue, elias.pages) == (2009, "35", "10", "1092-7")
    assert elias.abstract.startswith("More than 15 liver metastases")


def test_bibtex_fields_latex_and_duplicate_keys():
    parsed = read_records(SAMPLES / "scopus.bib")
    assert parsed.format == "bibtex"
    que, strosberg = parsed.records
    assert que.authors == ["Que, F.G.", "Nagorney, D.M.", "Batts, K.P.", "Linz, L.J.", "Kvols, L.K."]
    assert que.source_id == "scopus:2-s2.0-0028980001"
    assert que.pages == "36-42"
    assert que.year == 1995
    assert que.keywords == ["neuroendocrine", "hepatic resection"]
    assert strosberg.title.startswith("Prognostic validity of a novel American Joint Committee")
    assert strosberg.doi == "10.1159/000197899"


def test_csv_rayyan_mapping():
    parsed = read_records(SAMPLES / "rayyan.csv", search="rayyan")
    assert parsed.format == "csv"
    que, osborne = parsed.records
    assert que.authors == ["Que, F G", "Nagorney, D M"]
    assert que.source_id == "rayyan-1001"
    assert que.id.startswith("h:") or que.id == "rayyan:rayyan-1001"
    assert que.keywords == ["neuroendocrine", "liver"]
    assert osborne.doi == "10.1245/aso.2006.03.071"
    assert osborne.pmid == "16511671"
    assert osborne.id == "pmid:16511671"
    assert que.extra["issn"] == "0002-9610"


def test_csv_asreview_labels_semicolon():
    parsed = read_records(SAMPLES / "asreview.csv", search="sim")
    assert len(parsed.records) == 3
    first = parsed.records[0]
    assert first.extra["label_included"] == "1"
    assert first.extra["label_abstract_screening"] == "1"
    assert first.authors == ["Que FG", "Nagorney DM"]
    assert parsed.records[2].abstract == ""
    assert first.id == "sim:0"


def test_excel(tmp_path: Path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Title", "Authors", "Publication Year", "DOI", "Abstract"])
    sheet.append(
        [
            "Hepatic resection for metastatic neuroendocrine carcinomas",
            "Que FG; Nagorney DM",
            1995,
            "",
            "Reviewed.",
        ]
    )
    path = tmp_path / "covidence.xlsx"
    book.save(path)
    parsed = read_records(path)
    assert parsed.format == "excel"
    (record,) = parsed.records
    assert record.year == 1995 and record.authors == ["Que FG", "Nagorney DM"]


def test_tsv_and_id_column_with_repeats(tmp_path: Path):
    path = tmp_path / "x.tsv"
    path.write_text("id\ttitle\tyear\nA\tFirst title\t2001\nA\tSecond title\t2002\n")
    parsed = read_records(path, search="s")
    assert [r.title for r in parsed.records] == ["First title", "Second title"]
    assert parsed.records[0].id != parsed.records[1].id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("medline.nbib", "medline"),
        ("embase.ris", "ris"),
        ("ovid.ris", "ris"),
        ("cochrane.ris", "ris"),
        ("wos.ciw", "wos"),
        ("pubmed.xml", "pubmed-xml"),
        ("endnote.xml", "endnote-xml"),
        ("scopus.bib", "bibtex"),
        ("rayyan.csv", "csv"),
        ("asreview.csv", "csv"),
    ],
)
def test_detection_ignores_extension(tmp_path: Path, name: str, expected: str):
    renamed = tmp_path / "export.txt"
    shutil.copy(SAMPLES / name, renamed)
    assert read_records(renamed).format == expected


def test_format_override():
    parsed = read_records(SAMPLES / "rayyan.csv", fmt="csv")
    assert parsed.format == "csv"
    with pytest.raises(ImportFormatError):
        read_records(SAMPLES / "rayyan.csv", fmt="ris")


def test_same_record_same_id_across_formats_and_imports():
    medline = {r.pmid: r.id for r in read_records(SAMPLES / "medline.nbib", search="a").records}
    again = {r.pmid: r.id for r in read_records(SAMPLES / "medline.nbib", search="b").records}
    wos = read_records(SAMPLES / "wos.ciw", search="c").records[0]
    assert medline == again
    assert wos.id == "pmid:" + wos.pmid


def test_normalisers():
    assert normalise_doi("https://doi.org/10.1111/HPB.12225.") == "10.1111/hpb.12225"
    assert normalise_doi("doi: 10.1245/ASO.2006.03.071 [doi]") == "10.1245/aso.2006.03.071"
    assert normalise_doi("http://dx.doi.org/10.4103%2F2303-9027.138783") == "10.4103/2303-9027.138783"
    assert normalise_doi("not a doi") == ""
    assert normalise_pmid("PMID: 16511671") == "16511671"
    assert normalise_pmid("16511671.0") == "16511671"
    assert normalise_pmid("L43567890") == ""
    assert parse_year("2014//") == 2014
    assert parse_year("Spring 1990") == 1990
    assert parse_year("n.d.") is None


def test_detect_format_unknown():
    assert detect_format("hello world\nnothing here") == "unknown"
    assert detect_format(io.StringIO("").getvalue()) == "unknown"


RIS_EDGE_CASES = """junk before the first record
TY  - JOUR
TI  - A title that goes on
  onto a second line
AU  - One, A
AU  - Two, B
KW  - first
second keyword on a continuation line
DO  - 10.1/first
DO  - 10.1/second
UR  - http://a.example/1; http://a.example/2
J9  - UNKNOWN TAG
N1  - note one
ER  -

Link to the Ovid Full Text or citation:
http://ovidsp.example/x
TY  - CHAP
T1  - Chapter
ER  - \n"""


@pytest.mark.parametrize("name", ["embase.ris", "ovid.ris", "edge"])
def test_ris_tokenizer_matches_rispy(name):
    """Our one-loop RIS tokenizer gives exactly the dicts rispy's parser gives."""
    from screener.importers import ris

    text = RIS_EDGE_CASES if name == "edge" else (SAMPLES / name).read_text()
    text = text.replace("\r\n", "\n")
    expected = ris._parser().parse(text)
    assert ris.tokenize(text) == expected
    assert len(expected) == (2 if name != "edge" else 2)


def test_shared_doi_with_different_titles_gets_separate_ids(tmp_path):
    path = tmp_path / "supplement.csv"
    path.write_text(
        "title,doi,year\n"
        "Abstract one on liver metastases,10.1007/s00125-017-4350-z,2017\n"
        "Abstract two on pancreatic tumours,10.1007/s00125-017-4350-z,2017\n"
        "A proper article,10.1000/xyz,2017\n"
        "A proper article,10.1000/xyz,2017\n"
    )
    ids = [r.id for r in read_records(path).records]
    assert ids[0] != ids[1] and ids[0].startswith("doi:10.1007/s00125-017-4350-z#")
    assert ids[2] == ids[3] == "doi:10.1000/xyz"  # the same article twice is one record
    assert ids == [r.id for r in read_records(path).records]  # stable
