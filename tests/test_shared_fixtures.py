"""Every real export in ../shared/data/fixtures imports with the right fields; the broken ones
fail cleanly. (The same behaviour is tested on files in tests/samples, which always exist.)"""

from __future__ import annotations

import pytest

from screener.errors import ImportFormatError
from screener.importers import read_records

from .conftest import FIXTURES, needs_shared

pytestmark = needs_shared

# file -> (format, record count as stated in the fixture's PROVENANCE.md)
EXPECTED = {
    "asreview_demo_exports/embase.csv": ("csv", 6),
    "asreview_demo_exports/embase_newpage.csv": ("csv", 6),
    "asreview_demo_exports/embase.ris": ("ris", 6),
    "asreview_demo_exports/pubmed_endnote.txt": ("ris", 6),
    "asreview_demo_exports/pubmed_zotero.ris": ("ris", 6),
    "asreview_demo_exports/ovid_psycinfo.ris": ("ris", 6),
    "asreview_demo_exports/ovid_zotero.ris": ("ris", 6),
    "asreview_demo_exports/proquest.ris": ("ris", 6),
    "asreview_demo_exports/scopus.ris": ("ris", 6),
    "asreview_demo_exports/web_of_science.txt": ("ris", 10),
    "asreview_demo_exports/_baseline.ris": ("ris", 100),
    "asreview_demo_exports/baseline_zotero.ris": ("ris", 100),
    "asreview_demo_exports/ris_issue_992.txt": ("ris", 19),
    "asreview_demo_exports/ris_issue_1099.txt": ("ris", 7),
    "asreview_demo_exports/ris_many_authors.ris": ("ris", 1),
    "asreview_demo_exports/faulty_year.ris": ("ris", 1),
    "asreview_demo_exports/generic_labels.csv": ("csv", 6),
    "asreview_demo_exports/generic_semicolon.csv": ("csv", 2),
    "asreview_demo_exports/generic_tab.tsv": ("csv", 2),
    "asreview_demo_exports/duplicate_records.csv": ("csv", 14),
    "asysd_exports/ris_export.txt": ("ris", 69),
    "asysd_exports/scopus.ris": ("ris", 10),
    "asysd_exports/wos_test.ris": ("ris", 50),
    "asysd_exports/zotero_export.ris": ("ris", 1000),
    "asysd_exports/zotero_export.bib": ("bibtex", 1000),
    "asysd_exports/zotero_export.csv": ("csv", 1233),
    "asysd_exports/zotero_export.xml": ("endnote-xml", 1233),
    "asysd_exports/mendeley_export.xml": ("endnote-xml", 1233),
    "nbib_pubmed_export/pubmed-balloongui-set.nbib": ("medline", 75),
    "nbib_pubmed_export/single.nbib": ("medline", 1),
    "nbib_pubmed_export/pmc_medlars.txt": ("medline", 5),
    "ncbi_eutils_biopython/Medline/pubmed_result1.txt": ("medline", 1),
    "ncbi_eutils_biopython/Medline/pubmed_result2.txt": ("medline", 4),
    "ncbi_eutils_biopython/Medline/pubmed_result3.txt": ("medline", 1),
    "ncbi_eutils_biopython/Entrez/pubmed1.xml": ("pubmed-xml", 2),
    "ncbi_eutils_biopython/Entrez/pubmed2.xml": ("pubmed-xml", 2),
    "ncbi_eutils_biopython/Entrez/pubmed4.xml": ("pubmed-xml", 1),
    "ncbi_eutils_biopython/Entrez/pubmed6.xml": ("pubmed-xml", 1),
    "ncbi_eutils_biopython/Entrez/pubmed7.xml": ("pubmed-xml", 1),
    "ovid_psycinfo_ris_colandr/0_Ovid_search_results_3001_to_3130.ris": ("ris", 130),
    "revtools_exports/restoration_WoS.ciw": ("wos", 247),
    "revtools_exports/restoration_pubmed.nbib": ("medline", 104),
    "revtools_exports/restoration_scopus.ris": ("ris", 286),
    "revtools_exports/avian_ecology_bibliography.ris": ("ris", 20),
    "synthesisr_exports/PubMed_example.txt": ("medline", 3),
    "synthesisr_exports/res_synth_methods.txt": ("medline", 2),
    "synthesisr_exports/Ovid_ris_example.ris": ("ris", 4),
    "synthesisr_exports/ASP_ris_example.ris": ("ris", 4),
    "synthesisr_exports/Scopus_ris_example.ris": ("ris", 3),
    "synthesisr_exports/Scopus_bib_example.bib": ("bibtex", 3),
    "synthesisr_exports/scopus.ris": ("ris", 92),
    "synthesisr_exports/WoS_ciw_example.ciw": ("wos", 5),
    "synthesisr_exports/zoorec.txt": ("wos", 134),
    "synthesisr_exports/litsearchr.txt": ("bibtex", 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_imports(name):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{name} is not in this copy of the shared data")
    fmt, count = EXPECTED[name]
    parsed = read_records(path, search="s")
    assert parsed.format == fmt
    assert len(parsed.records) == count
    titled = [r for r in parsed.records if r.title]
    assert titled, "no record has a title"
    ids = [r.id for r in parsed.records]
    assert all(ids)


def only(records, **fields):
    hits = [r for r in records if all(getattr(r, k) == v for k, v in fields.items())]
    assert len(hits) == 1, f"{len(hits)} records match {fields}"
    return hits[0]


def test_embase_ris_and_csv_agree():
    ris = read_records(FIXTURES / "asreview_demo_exports/embase.ris").records
    csv = read_records(FIXTURES / "asreview_demo_exports/embase.csv").records
    a = only(ris, title="Duplication cysts: Diagnosis, management, and the role of endoscopic ultrasound")
    b = only(csv, title=a.title)
    assert a.authors == b.authors == ["Liu R.", "Adler D.G."]
    assert a.year == b.year == 2014
    assert a.journal == b.journal == "Endoscopic Ultrasound"
    assert (a.volume, a.issue, a.pages) == (b.volume, b.issue, b.pages) == ("3", "3", "152-160")
    assert a.doi == b.doi == "10.4103/2303-9027.138783"
    assert a.source_id == "embase:L373791783"
    assert a.abstract[:60] == b.abstract[:60]


def test_pubmed_via_endnote_ris_has_pmid():
    records = read_records(FIXTURES / "asreview_demo_exports/pubmed_endnote.txt").records
    record = only(records, pmid="21553931")
    assert record.doi == "10.2165/11586800-000000000-00000"
    assert record.authors[:2] == ["Abdel-Tawab, M.", "Werz, O."]
    assert record.year == 2011
    assert record.pages == "349-69"


def test_wos_tagged_known_record():
    records = read_records(FIXTURES / "revtools_exports/restoration_WoS.ciw").records
    record = only(records, pmid="30529964")
    assert record.doi == "10.1016/j.scitotenv.2018.11.375"
    assert record.authors[0] == "Alvarez-Manzaneda, I."
    assert record.year == 2019 and record.pages == "598-607"
    assert record.journal == "SCIENCE OF THE TOTAL ENVIRONMENT"
    assert record.abstract.startswith("Magnetic microparticles (MPs)")


def test_medline_known_record():
    records = read_records(FIXTURES / "ncbi_eutils_biopython/Medline/pubmed_result2.txt").records
    record = only(records, pmid="16403221")
    assert record.title == "A high level interface to SCOP and ASTRAL implemented in python."
    assert record.authors == ["Casbon, James A", "Crooks, Gavin E", "Saqi, Mansoor A S"]
    assert record.doi == "10.1186/1471-2105-7-10"
    assert record.journal_abbrev == "BMC Bioinformatics"


def test_pubmed_xml_mathml_stripped():
    (record,) = read_records(FIXTURES / "ncbi_eutils_biopython/Entrez/pubmed6.xml").records
    assert record.pmid == "30108519"
    assert record.doi == "10.3389/fphys.2018.01034"
    assert "<sub>" not in record.abstract and "<mml" not in record.abstract
    assert "(LEmin)" in record.abstract


def test_many_authors_kept():
    (record,) = read_records(FIXTURES / "asreview_demo_exports/ris_many_authors.ris").records
    assert len(record.authors) > 5000


def test_zotero_formats_agree():
    """One library exported as RIS, BibTeX, CSV and EndNote XML yields the same records."""
    ris = read_records(FIXTURES / "asysd_exports/zotero_export.ris").records
    bib = read_records(FIXTURES / "asysd_exports/zotero_export.bib").records
    csv = read_records(FIXTURES / "asysd_exports/zotero_export.csv").records
    xml = read_records(FIXTURES / "asysd_exports/zotero_export.xml").records
    assert {r.doi for r in ris if r.doi} == {r.doi for r in bib if r.doi}
    assert {r.doi for r in csv if r.doi} == {r.doi for r in xml if r.doi}
    csv_by_doi = {r.doi: r for r in csv if r.doi}
    agree = sum(
        1
        for r in xml
        if r.doi and csv_by_doi[r.doi].year == r.year and csv_by_doi[r.doi].authors == r.authors
    )
    assert agree / len(csv_by_doi) > 0.97


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("asreview_demo_exports/generic_labels_no_title.csv", "title column"),
        ("asreview_demo_exports/generic.vec", "not recognised"),
        ("ncbi_eutils_biopython/Entrez/pubmed3.html", "html"),
        ("ncbi_eutils_biopython/Entrez/einfo4.xml", "doctype"),
    ],
)
def test_broken_fixtures_fail_cleanly(name, words):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{name} is not in this copy of the shared data")
    with pytest.raises(ImportFormatError) as info:
        read_records(path)
    assert str(path) in str(info.value)
    assert words in str(info.value).lower()


def test_ris_tokenizer_matches_rispy_on_every_ris_fixture():
    from screener.importers import ris
    from screener.textio import read_text

    compared = 0
    for path in sorted(FIXTURES.glob("*/*")):
        try:
            text, _ = read_text(path)
        except ImportFormatError:
            continue
        if "TY  -" not in text:
            continue
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        assert ris.tokenize(text) == ris._parser().parse(text), path
        compared += 1
    assert compared >= 30
