"""Full texts: attaching a folder of PDFs, the manifest, check, status, show and the missing list."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time

import pytest

from screener.fulltext import attach as ft
from screener.fulltext.manifest import MANIFEST, pdf_file_name, read_manifest
from screener.fulltext.match import Matcher
from screener.records import Record
from screener.screening.decisions import DecisionLog, decision_path

from .conftest import FIXTURES, needs_shared
from .fulltext_helpers import article, fulltext_review, write

TRIAL = {
    "title": "Exercise therapy for chronic low back pain in older adults: a randomised controlled trial",
    "authors": "Okafor, Chidi; Lindqvist, Maria",
    "year": "2019",
    "doi": "10.1234/jtm.2019.0042",
    "journal": "J Test Med",
    "pages": "101-110",
}
COHORT = {
    "title": "Sleep duration and cognitive decline in a prospective cohort of nurses",
    "authors": "Haddad, Rana; Berg, Tomas",
    "year": "2020",
    "journal": "Cohort Studies",
    "pages": "5-15",
}


def _attach(cli, review, folder, *extra):
    result = cli("--review", str(review.root), "fulltext", "attach", str(folder), "--json", *extra)
    assert result.code == 0, result
    return json.loads(result.out)


def test_attach_matches_by_doi_and_by_title_and_copies_under_a_name_from_the_id(cli, review_pair):
    review, folder = review_pair
    data = _attach(cli, review, folder)
    outcomes = {p["file"]: p for p in data["pdfs"]}
    assert outcomes["downloads/okafor.pdf"]["outcome"] == "attached"
    assert outcomes["Haddad 2020.PDF"]["outcome"] == "attached"
    assert outcomes["unrelated.pdf"]["outcome"] == "unmatched"
    ids = {r.title: r.id for r in review.records()}
    pdf_dir = review.root / "fulltext" / "pdf"
    for title in (TRIAL["title"], COHORT["title"]):
        assert (pdf_dir / pdf_file_name(ids[title])).is_file()
    assert "*" in (pdf_dir / ".gitignore").read_text()  # never committed, whatever the review's .gitignore
    entries, _ = read_manifest(review.root)
    assert {e.record_id for e in entries} == set(ids.values())
    assert {e.state for e in entries} == {"prepared"} and {e.source for e in entries} == {"attach"}
    # Attaching the same folder again changes nothing.
    again = _attach(cli, review, folder)
    assert again["counts"]["attached"] == 0 and again["counts"]["already_attached"] == 2
    assert len(read_manifest(review.root)[0]) == 2


def test_status_json_is_a_stable_contract(cli, review_pair):
    review, folder = review_pair
    _attach(cli, review, folder)
    out = json.loads(cli("--review", str(review.root), "fulltext", "status", "--json").out)
    assert len(out) == 2
    for item in out:
        assert {"record_id", "state", "sha256", "path", "present"} <= set(item)
        assert item["state"] == "prepared" and item["present"] is True and len(item["sha256"]) == 64
        assert item["path"].startswith("fulltext/pdf/") and (review.root / item["path"]).is_file()


def test_dry_run_writes_nothing(cli, review_pair):
    review, folder = review_pair
    data = _attach(cli, review, folder, "--dry-run")
    assert data["counts"]["attached"] == 2
    assert not (review.root / "fulltext").exists()


@pytest.fixture
def review_pair(tmp_path):
    review = fulltext_review(tmp_path, [TRIAL, COHORT])
    folder = tmp_path / "pdfs"
    # By DOI (and title); by title and first author with no DOI; one of nothing in the review.
    write(
        folder / "downloads",
        "okafor.pdf",
        article(TRIAL["title"], "Chidi Okafor, Maria Lindqvist", 2019, TRIAL["doi"]),
    )
    write(folder, "Haddad 2020.PDF", article(COHORT["title"], "Rana Haddad and Tomas Berg", 2020))
    write(folder, "unrelated.pdf", article("Bird migration over the Baltic sea in autumn", "Jan Nowak", 2018))
    return review, folder


# Near misses: one PDF, and records by the same author whose titles differ by a word or a
# number. The PDF's own record may be absent: then nothing may be attached.
BASE = "Long-term outcomes of hip replacement in elderly patients"
NEAR_MISSES = [
    ("part I / part II", f"{BASE}: Part II", [f"{BASE}: Part I"]),
    ("part 1 / part 2", f"{BASE}, part 2", [f"{BASE}, part 1"]),
    ("one word", f"{BASE} with osteoarthritis", [f"{BASE} with osteoporosis"]),
    (
        "a number",
        "Mortality at 10 years after hip replacement in elderly patients",
        ["Mortality at 1 years after hip replacement in elderly patients"],
    ),
    ("longer title", f"{BASE} and their carers", [BASE]),
    ("shorter title", BASE, [f"{BASE} and their carers"]),
    ("main title alone", BASE, [f"{BASE}: results in 378 hips at 12 years"]),
]


@pytest.mark.parametrize(("case", "pdf_title", "others"), NEAR_MISSES, ids=[c[0] for c in NEAR_MISSES])
def test_near_miss_titles_by_one_author_never_match_each_other(tmp_path, cli, case, pdf_title, others):
    rows = [
        {"title": t, "authors": "Moreau, Jeanne; Patel, Ravi", "year": str(2015 + i), "pages": f"{i}1-{i}9"}
        for i, t in enumerate(others)
    ]
    review = fulltext_review(tmp_path, rows)
    folder = tmp_path / "pdfs"
    write(folder, "paper.pdf", article(pdf_title, "Jeanne Moreau, Ravi Patel", 2015))
    data = _attach(cli, review, folder)
    assert data["counts"]["attached"] == 0, data
    assert data["pdfs"][0]["outcome"] in ("uncertain", "unmatched")
    # With its own record in the review too, the PDF goes to that record, never to the sibling.
    review2 = fulltext_review(
        tmp_path / "both",
        [
            *rows,
            {"title": pdf_title, "authors": "Moreau, Jeanne; Patel, Ravi", "year": "2015", "pages": "90-99"},
        ],
    )
    data = _attach(cli, review2, folder)
    own = next(r.id for r in review2.records() if r.title == pdf_title)
    assert data["pdfs"][0]["outcome"] == "attached" and data["pdfs"][0]["record_id"] == own, data


def test_a_pdf_titled_with_a_records_main_title_alone_goes_to_a_person(tmp_path, cli):
    # The team's martin_nearmiss.pdf: the record's title without its subtitle, first author
    # matching; another author's record shares the main title.
    main = "Hepatectomy for non-colorectal non-neuroendocrine liver metastases"
    rows = [
        {"title": f"{main}: oncological outcomes in 137 patients", "authors": "Gomes, F. G.", "year": "2012"},
        {"title": f"{main}: long-term outcomes in 149 patients", "authors": "Martin, I. T.", "year": "2009"},
    ]
    review = fulltext_review(tmp_path, rows)
    folder = tmp_path / "pdfs"
    write(folder, "martin.pdf", article(main, "IT Martin, S Ibrahim, K Ogawa", 2009))
    (pdf,) = _attach(cli, review, folder)["pdfs"]
    martin = next(r.id for r in review.records() if r.authors[0].startswith("Martin"))
    assert pdf["outcome"] == "uncertain" and "main title alone" in pdf["reason"], pdf
    assert pdf["candidates"][0]["record_id"] == martin and pdf["pdf_title"] == [main]
    assert not read_manifest(review.root)[0]


def test_a_doi_without_its_title_goes_to_a_person(tmp_path, cli):
    review = fulltext_review(tmp_path, [TRIAL])
    folder = tmp_path / "pdfs"
    # A commentary that cites the trial's DOI: not the trial's report.
    write(
        folder,
        "comment.pdf",
        article("A commentary on exercise and back pain in later life", "Ann Other", 2020, TRIAL["doi"]),
    )
    data = _attach(cli, review, folder)
    assert data["pdfs"][0]["outcome"] == "uncertain" and "not its title" in data["pdfs"][0]["reason"]


def test_two_pdfs_for_one_record_both_wait(tmp_path, cli):
    review = fulltext_review(tmp_path, [COHORT])
    folder = tmp_path / "pdfs"
    write(folder, "a.pdf", article(COHORT["title"], "Rana Haddad", 2020))
    write(folder, "b.pdf", article(COHORT["title"], "Rana Haddad", 2020, journal="Preprints"))
    data = _attach(cli, review, folder)
    assert [p["outcome"] for p in data["pdfs"]] == ["uncertain", "uncertain"]


def test_review_attaches_what_a_person_chooses(tmp_path, cli):
    review = fulltext_review(tmp_path, [TRIAL])
    folder = tmp_path / "pdfs"
    write(
        folder,
        "comment.pdf",
        article("Exercise for back pain in older adults", "Chidi Okafor", 2019, TRIAL["doi"]),
    )
    plan = ft.plan(review, folder)
    assert plan.outcomes[0].outcome == "uncertain"
    asked = []
    record_id = review.records()[0].id
    assert ft.decide(review, plan, lambda o: asked.append(o.file) or record_id, "alice") == 1
    (entry,) = read_manifest(review.root)[0]
    assert entry.record_id == record_id and entry.who == "alice"
    assert entry.state == "needs_manual_preparation" and "wrong file" in entry.note


def _generated_bad(tmp_path):
    from pypdf import PdfReader, PdfWriter

    good = article(COHORT["title"], "Rana Haddad", 2020)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(good)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    locked = io.BytesIO()
    writer.write(locked)
    owner_only = PdfWriter(clone_from=PdfReader(io.BytesIO(good)))
    owner_only.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    opened = io.BytesIO()
    owner_only.write(opened)
    return {
        "encrypted.pdf": (locked.getvalue(), "unreadable", "encrypted with a password"),
        "truncated.pdf": (good[: len(good) // 3], "unreadable", "damaged"),
        "not-a-pdf.pdf": (b"<html><body>Access denied</body></html>", "unreadable", "not a PDF"),
        "empty.pdf": (b"", "unreadable", "not a PDF"),
        # Encrypted with an empty user password only (printing restricted): it opens.
        "owner-password.pdf": (opened.getvalue(), "attached", ""),
    }


def test_unreadable_and_encrypted_pdfs_are_reported_in_one_line_never_attached(tmp_path, cli):
    review = fulltext_review(tmp_path, [COHORT])
    folder = tmp_path / "pdfs"
    cases = _generated_bad(tmp_path)
    for name, (data, _, _) in cases.items():
        write(folder, name, data)
    result = _attach(cli, review, folder)
    got = {p["file"]: p for p in result["pdfs"]}
    for name, (_, outcome, words) in cases.items():
        assert got[name]["outcome"] == outcome, got[name]
        assert words in got[name]["reason"] and "\n" not in got[name]["reason"]


SHARED_PDFS = [
    ("pdfminer-aes-128.pdf", "unreadable", "encrypted"),
    ("pdfminer-rc4-40.pdf", "unreadable", "encrypted"),
    ("pdfminer-issue-1113-evil-xobjects.pdf", "unreadable", "damaged"),
    ("pdfminer-simple1.pdf", "unreadable", "damaged"),
    ("pdfminer-pdf-with-jbig2.pdf", "no_text", "no text layer"),
    ("pdfminer-matplotlib.pdf", "no_text", "no text layer"),
    ("pdfminer-zen_of_python_corrupted.pdf", "unmatched", ""),
    ("grobid-dehyphenisation1.pdf", "no_text", "no text layer"),
    ("tracemonkey-pldi-09.pdf", "attached", "title"),
    ("pdfminer-naacl06-shinyama.pdf", "attached", "title"),
]
REAL_PAPERS = [
    {
        "title": "Trace-based just-in-time type specialization for dynamic languages",
        "authors": "Gal, Andreas; Eich, Brendan; Shaver, Mike",
        "year": "2009",
        "doi": "10.1145/1542476.1542528",
        "journal": "PLDI",
        "pages": "465-478",
    },
    {
        "title": "Preemptive information extraction using unrestricted relation discovery",
        "authors": "Shinyama, Yusuke; Sekine, Satoshi",
        "year": "2006",
        "journal": "HLT-NAACL",
        "pages": "304-311",
    },
    # Near misses of both, by the same authors.
    {
        "title": "Trace-based just-in-time type specialization for static languages",
        "authors": "Gal, Andreas",
        "year": "2010",
        "pages": "1-9",
    },
    {
        "title": "Preemptive information extraction using unrestricted relation discovery: part II",
        "authors": "Shinyama, Yusuke",
        "year": "2007",
        "pages": "2-8",
    },
]


@needs_shared
def test_real_and_hostile_pdfs_from_public_test_corpora(tmp_path, cli):
    review = fulltext_review(tmp_path, REAL_PAPERS)
    folder = tmp_path / "pdfs"
    for name, _, _ in SHARED_PDFS:  # read in place, never copied into the repository
        write(folder, name, (FIXTURES / "pdfs_public_test_corpora" / name).read_bytes())
    started = time.perf_counter()
    result = _attach(cli, review, folder)
    assert time.perf_counter() - started < 60  # the hostile file must not hang
    got = {p["file"]: p for p in result["pdfs"]}
    ids = {r.title: r.id for r in review.records()}
    for name, outcome, words in SHARED_PDFS:
        assert got[name]["outcome"] == outcome, got[name]
        assert words in got[name]["reason"]
    assert got["tracemonkey-pldi-09.pdf"]["record_id"] == ids[REAL_PAPERS[0]["title"]]
    assert got["pdfminer-naacl06-shinyama.pdf"]["record_id"] == ids[REAL_PAPERS[1]["title"]]
    text = cli("--review", str(review.root), "fulltext", "show", ids[REAL_PAPERS[0]["title"]]).out
    assert "--- page 1 of 14 ---" in text and "--- page 14 of 14 ---" in text and "TraceMonkey" in text


def test_check_verifies_hashes_and_names_what_a_clone_lacks(cli, review_pair):
    review, folder = review_pair
    _attach(cli, review, folder)
    ok = json.loads(cli("--review", str(review.root), "check", "--json").out)
    assert ok["ok"], ok
    assert not any("full text" in w for w in ok["open_work"]), ok
    (review.root / ".gitattributes").write_text("labels/** merge=union\n")  # a review made before
    old = json.loads(cli("--review", str(review.root), "check", "--json").out)
    assert any("fulltext/manifest.csv merge=union" in w for w in old["warnings"]), old
    pdfs = sorted((review.root / "fulltext" / "pdf").glob("*.pdf"))
    pdfs[0].write_bytes(pdfs[0].read_bytes() + b"\n% changed")
    pdfs[1].unlink()
    result = cli("--review", str(review.root), "check", "--json")
    report = json.loads(result.out)
    assert not report["ok"] and any("sha256" in p and pdfs[0].name in p for p in report["problems"])
    assert any("not in this clone" in w for w in report["warnings"])
    status = json.loads(cli("--review", str(review.root), "fulltext", "status", "--json").out)
    assert sorted(item["present"] for item in status) == [False, True]
    shown = cli("--review", str(review.root), "fulltext", "show", status[0]["record_id"])
    missing = next(i for i in status if not i["present"])
    lacking = cli("--review", str(review.root), "fulltext", "show", missing["record_id"])
    assert lacking.code == 2 and "not in this clone" in lacking.err and "Traceback" not in lacking.err
    assert shown.code in (0, 2)


def test_show_prints_the_text_with_page_marks(cli, tmp_path):
    review = fulltext_review(tmp_path, [COHORT])
    folder = tmp_path / "pdfs"
    write(folder, "x.pdf", article(COHORT["title"], "Rana Haddad", 2020))
    _attach(cli, review, folder)
    record_id = review.records()[0].id
    out = cli("--review", str(review.root), "fulltext", "show", record_id).out
    assert out.startswith("--- page 1 of 1 ---") and "Sleep duration" in out


def test_check_notes_full_text_decisions_made_with_no_report_attached(cli, review_pair):
    review, folder = review_pair
    (folder / "Haddad 2020.PDF").unlink()
    _attach(cli, review, folder)
    ids = {r.title: r.id for r in review.records()}
    trial, cohort = ids[TRIAL["title"]], ids[COHORT["title"]]

    def open_work() -> list[str]:
        return json.loads(cli("--review", str(review.root), "check", "--json").out)["open_work"]

    # not-retrieved is the decision for a record without a report: nothing to say.
    DecisionLog(decision_path(review.labels_dir, "full-text", "bob")).append(cohort, "not-retrieved")
    assert not any("decided with no report" in line for line in open_work())
    alice = DecisionLog(decision_path(review.labels_dir, "full-text", "alice"))
    alice.append(trial, "include")
    alice.append(cohort, "exclude", reason=review.config.exclusion_reasons[0])
    said = [line for line in open_work() if "decided with no report" in line]
    assert said == [
        f"full-text: 1 record decided with no report attached ({cohort}): attach the PDF "
        "('screener fulltext attach'), or decide not-retrieved"
    ]


@pytest.mark.parametrize("decision", ["exclude", "not-retrieved"])
def test_list_missing_leaves_out_records_final_at_full_text(cli, review_pair, decision):
    review, folder = review_pair
    (folder / "Haddad 2020.PDF").unlink()
    _attach(cli, review, folder)
    cohort = next(r.id for r in review.records() if r.title == COHORT["title"])
    root = str(review.root)
    assert "Sleep duration" in cli("--review", root, "fulltext", "list", "--missing").out
    reason = review.config.exclusion_reasons[0] if decision == "exclude" else ""
    for name in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "full-text", name))
        log.append(cohort, decision, reason=reason)
    result = cli("--review", root, "fulltext", "list", "--missing")
    assert result.code == 0 and "Sleep duration" not in result.out
    assert "1 record without a full text left out: final already" in result.err


def test_list_missing_exports_ris_and_csv_for_interlibrary_loans(cli, review_pair, tmp_path):
    review, folder = review_pair
    (folder / "Haddad 2020.PDF").unlink()
    _attach(cli, review, folder)
    checked = json.loads(cli("--review", str(review.root), "check", "--json").out)
    assert (
        "full-text: 1 of 2 records have no full text attached ('screener fulltext status')"
        in checked["open_work"]
    )
    ris = cli("--review", str(review.root), "fulltext", "list", "--missing", "--format", "ris").out
    assert ris.count("TY  - JOUR") == 1 and "Sleep duration" in ris and "needs manual retrieval" in ris
    out = tmp_path / "missing.csv"
    result = cli(
        "--review", str(review.root), "fulltext", "list", "--missing", "--format", "csv", "-o", str(out)
    )
    assert result.code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["title"] for r in rows] == [COHORT["title"]]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("doi:10.1/x,prepared,{sha},../../etc/passwd,attach,,,,,,", "PDF file name"),
        ("doi:10.1/x,prepared,{sha},other.pdf,attach,,,,,,", "not the name screener gives"),
        ("doi:10.1/x,prepared,nothex,{file},attach,,,,,,", "sha256"),
        ("doi:10.1/x,lost,,,,,,,,,", "state one of"),
    ],
)
def test_a_bad_manifest_line_is_one_error_naming_it(cli, tmp_path, line, words):
    review = fulltext_review(tmp_path, [COHORT])
    (review.root / "fulltext").mkdir()
    text = line.format(sha="a" * 64, file=pdf_file_name("doi:10.1/x"))
    (review.root / "fulltext" / MANIFEST).write_text(f"record_id,state\n{text}\n")
    result = cli("--review", str(review.root), "fulltext", "status")
    assert result.code == 2 and words in result.err and "manifest.csv:2" in result.err, result


def test_names_from_ids_are_safe_and_distinct():
    names = {pdf_file_name(i) for i in ("doi:10.1/a_b", "doi:10.1/a/b", "../../x", ".hidden", "pmid:1")}
    assert len(names) == 5 and all("/" not in n and not n.startswith(".") for n in names)


def test_init_keeps_pdfs_out_of_git_and_merges_the_manifest(tmp_path):
    from screener.review import init_review

    root = init_review(tmp_path / "r")
    assert "fulltext/pdf/" in (root / ".gitignore").read_text()
    assert "fulltext/manifest.csv merge=union" in (root / ".gitattributes").read_text()


def test_matcher_speed_on_many_records():
    records = [
        Record(
            id=f"x:{i}",
            title=f"Study {i} of topic {i % 7} in cohort number {i * 3}",
            authors=["Smith, J"],
            year=2000,
        )
        for i in range(2000)
    ]
    matcher = Matcher(records)
    started = time.perf_counter()
    for i in range(50):
        match = matcher.match(f"Study {i} of topic {i % 7} in cohort number {i * 3}\nJ Smith\n2000\n")
        assert match.outcome == "attach" and match.record_id == f"x:{i}", match
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        # An author line starting with the initial "A." is no continuation of the title.
        (
            f"{COHORT['title']}\nA. Haddad, T. Berg\n2020",
            "attach",
        ),
        (
            f"{COHORT['title']}\nand their families\nR Haddad",
            "review",
        ),
        (
            "Sleep duration and cognitive decline in a prospective cohort of nurses: a trial\nR Haddad",
            "review",
        ),
        ("Long sleep duration and cognitive decline in a prospective cohort of nurses\nR Haddad", "review"),
        # Hyphenation and a footnote mark glued to the last word do not hide the title.
        ("Sleep duration and cognitive de-\ncline in a prospective cohort of nurses1\nR. Haddad", "attach"),
        ("Bird migration\nJ Nowak", "none"),
    ],
)
def test_title_lookup_boundaries(text, outcome):
    record = Record(id="x:1", title=COHORT["title"], authors=["Haddad, Rana"], year=2020)
    assert Matcher([record]).match(text).outcome == outcome


def test_mark_not_available_then_prepared_needs_a_file(cli, review_pair):
    review, folder = review_pair
    record_id = next(r.id for r in review.records() if r.title == COHORT["title"])
    root = str(review.root)
    assert (
        cli("--review", root, "fulltext", "mark", record_id, "not_available", "--note", "none held").code == 0
    )
    status = {
        i["record_id"]: i for i in json.loads(cli("--review", root, "fulltext", "status", "--json").out)
    }
    assert status[record_id]["state"] == "not_available" and status[record_id]["note"] == "none held"
    refused = cli("--review", root, "fulltext", "mark", record_id, "prepared")
    assert refused.code == 2 and "no file" in refused.err
    _attach(cli, review, folder)
    assert cli("--review", root, "fulltext", "mark", record_id, "needs_manual_retrieval").code == 0
    status = {
        i["record_id"]: i for i in json.loads(cli("--review", root, "fulltext", "status", "--json").out)
    }
    assert status[record_id]["state"] == "needs_manual_retrieval" and "sha256" not in status[record_id]


def test_status_says_how_many_full_texts_are_attached_and_missing(cli, review_pair):
    review, folder = review_pair
    (folder / "Haddad 2020.PDF").unlink()
    _attach(cli, review, folder)
    root = str(review.root)
    info = json.loads(cli("--review", root, "status", "--json").out)
    assert info["full_texts"]["with_file"] == 1 and info["full_texts"]["without_file"] == 1
    assert info["full_texts"]["sources"] == {"attach": 1}
    out = cli("--review", root, "status").out
    assert "Full texts: 1 of 2 attached (1 by attach), 1 without a file" in out


def test_ocr_adds_a_text_layer_to_a_scan_when_ocrmypdf_is_installed(cli, tmp_path, monkeypatch):
    review = fulltext_review(tmp_path, [COHORT])
    folder = tmp_path / "pdfs"
    from pypdf import PdfWriter

    blank = PdfWriter()
    blank.add_blank_page(595, 842)
    image_only = io.BytesIO()
    blank.write(image_only)
    write(folder, "scan.pdf", image_only.getvalue())
    without = _attach(cli, review, folder, "--dry-run")
    assert without["pdfs"][0]["outcome"] == "no_text" and "no text layer" in without["pdfs"][0]["reason"]
    monkeypatch.setenv("PATH", str(tmp_path / "nobin"))
    refused = cli("--review", str(review.root), "fulltext", "attach", str(folder), "--ocr")
    assert refused.code == 2 and "ocrmypdf" in refused.err
    # A stand-in ocrmypdf: writes the "recognised" PDF (the article with its text) to its last argument.
    recognised = write(tmp_path, "recognised.pdf", article(COHORT["title"], "Rana Haddad", 2020))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ocrmypdf"
    fake.write_text(f'#!/bin/sh\nfor last; do :; done\ncp "{recognised}" "$last"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    data = _attach(cli, review, folder, "--ocr")
    assert data["pdfs"][0]["outcome"] == "attached" and data["pdfs"][0]["ocr"] is True, data
    (entry,) = read_manifest(review.root)[0]
    assert entry.sha256 == data["pdfs"][0]["sha256"] and "ocrmypdf" in entry.note
    stored = review.root / "fulltext" / "pdf" / entry.file
    assert stored.read_bytes() == recognised.read_bytes()
    assert json.loads(cli("--review", str(review.root), "check", "--json").out)["ok"]


def test_the_report_lists_each_included_studys_full_text_source(cli, review_pair, tmp_path):
    from screener.screening.decisions import DecisionLog, decision_path

    review, folder = review_pair
    (folder / "Haddad 2020.PDF").unlink()
    _attach(cli, review, folder)
    for name in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "full-text", name))
        for record in review.records():
            log.append(record.id, "include")
    root = str(review.root)
    data = json.loads(cli("--review", root, "report", "--json").out)
    sources = {v.get("source", v["state"]) for v in data["full_texts"].values()}
    assert sources == {"attach", "needs_manual_retrieval"}
    page = tmp_path / "report.html"
    assert cli("--review", root, "report", "-o", str(page)).code == 0
    html = page.read_text()
    assert "<th" in html and "full text" in html and "needs manual retrieval" in html


def test_the_screen_at_full_text_shows_the_report_and_o_opens_its_pdf(tmp_path, monkeypatch):
    from screener.screening.screen import run_terminal, screen_lines

    from .test_screen_session import console, no_highlight, session, text_of

    pages = "--- page 1 of 2 ---\nIntroduction THE-REPORT-TEXT\n--- page 2 of 2 ---\nMethods\n"
    s = session(
        tmp_path,
        "full-text",
        report_text=lambda rid: pages if rid == "pmid:100" else None,
        report_file=lambda rid: "/tmp/x.pdf" if rid == "pmid:100" else "",
    )
    shown = "\n".join(text_of(screen_lines(s, console(80, 24), no_highlight, 80, 24)))
    assert "--- page 1 of 2 ---" in shown and "THE-REPORT-TEXT" in shown and "word0" not in shown
    opened = []
    monkeypatch.setenv("DISPLAY", ":0")
    keys = iter(["o", "q"])
    run_terminal(s, console(80, 24), no_highlight, lambda: next(keys), lambda _: "", opened.append)
    assert opened == ["/tmp/x.pdf"]
    # A record without a file shows its abstract, and o its link.
    s.queue = s.queue[1:]
    shown = "\n".join(text_of(screen_lines(s, console(80, 24), no_highlight, 80, 24)))
    assert "Abstract 1 about" in shown


def test_the_full_text_screen_says_when_a_record_has_no_report(tmp_path):
    """A record without a file shows its abstract at full text: a visible line says so, and the
    rules name what is shown (the report, or the abstract)."""
    from screener.screening.screen import screen_lines

    from .test_screen_session import console, no_highlight, session, text_of

    s = session(
        tmp_path,
        "full-text",
        report_text=lambda rid: "(the PDF is not in this clone)" if rid == "pmid:100" else None,
    )
    shown = text_of(screen_lines(s, console(80, 24), no_highlight, 80, 24))
    assert not any("no report attached" in line for line in shown)
    assert any(line.startswith("─── report ") for line in shown)
    assert any("end of report" in line for line in shown) and not any(
        "end of abstract" in line for line in shown
    )
    s.queue = s.queue[1:]
    s._wrapped = None
    shown = text_of(screen_lines(s, console(80, 24), no_highlight, 80, 24))
    assert "no report attached (fulltext attach, or r: not retrieved)" in shown
    assert any(line.startswith("─── abstract ") for line in shown) and "Abstract 1 about" in "\n".join(shown)
    # At title-abstract the line never shows.
    shown = text_of(
        screen_lines(session(tmp_path / "ta", "title-abstract"), console(80, 24), no_highlight, 80, 24)
    )
    assert not any("no report attached" in line for line in shown)


def test_the_screens_readers_give_the_attached_reports_text_and_path(cli, review_pair):
    from screener.cli.screening import _full_text_readers
    from screener.screening import load_stage

    review, folder = review_pair
    (folder / "Haddad 2020.PDF").unlink()
    _attach(cli, review, folder)
    text_of, path_of = _full_text_readers(review, load_stage(review, "full-text"), None)
    ids = {r.title: r.id for r in review.records()}
    trial, cohort = ids[TRIAL["title"]], ids[COHORT["title"]]
    assert text_of(trial).startswith("--- page 1 of 1 ---") and "Exercise therapy" in text_of(trial)
    assert path_of(trial).endswith(".pdf") and text_of(cohort) is None and path_of(cohort) == ""
    for pdf in (review.root / "fulltext" / "pdf").glob("*.pdf"):
        pdf.unlink()  # a clone without the PDFs
    text_of, path_of = _full_text_readers(review, load_stage(review, "full-text"), None)
    assert "not in this clone" in text_of(trial) and path_of(trial) == ""


def test_the_manifest_names_the_person_not_a_placeholder_when_user_is_unset(monkeypatch):
    import getpass

    from screener.cli.fulltext import _who

    for name in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    assert _who("alice") == "alice"
    monkeypatch.setattr(getpass, "getuser", lambda: "jdoe")
    assert _who(None) == "jdoe"

    def no_login() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert _who(None) == "unknown"


def test_page_text_joins_the_pdfs_line_breaks_within_a_paragraph():
    """fix-rest 7: the screen rewraps full-text pages; the PDF's own breaks left ragged short
    lines. Lines of one paragraph become one line; blank lines, headings and page marks stay."""
    from screener.fulltext.text import PdfText

    page = (
        "Methods\n"
        "We recruited adults from four sleep clinics in a\n"
        "prospective cohort and followed them for five years, with a well-\n"
        "known questionnaire.\n"
        "\n"
        "Results\n"
        "Sleep duration under six hours was associated with\n"
        "mortality.\n"
    )
    marked = PdfText("x", [page, "Discussion\nShort sleep.\n"], 2, {}).with_page_marks()
    assert marked.splitlines() == [
        "--- page 1 of 2 ---",
        "Methods",
        "We recruited adults from four sleep clinics in a prospective cohort and followed them for five "
        "years, with a well-known questionnaire.",
        "",
        "Results",
        "Sleep duration under six hours was associated with mortality.",
        "",
        "--- page 2 of 2 ---",
        "Discussion",
        "Short sleep.",
    ]


def test_status_at_80_columns_two_lines_a_record_with_the_note(cli, review_pair, monkeypatch):
    """fix-rest 8: a five-column table at 80 columns split states and paths a line per fragment
    and never showed the note the JSON has. Now: the id and state whole, the path cut in the
    middle, the note and title on a second line; no more than two lines a record."""
    review, folder = review_pair
    _attach(cli, review, folder)
    root = str(review.root)
    items = json.loads(cli("--review", root, "fulltext", "status", "--json").out)
    marked = items[0]["record_id"]
    note = "title not in first pages (wrong file?)"
    cli("--review", root, "fulltext", "mark", marked, "needs_manual_retrieval", "--note", note)
    items = json.loads(cli("--review", root, "fulltext", "status", "--json").out)
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("--review", root, "fulltext", "status")
    lines = result.out.splitlines()
    assert result.code == 0 and all(len(line) <= 80 for line in lines), result.out
    assert len(lines) <= 2 + 2 * len(items), result.out  # a heading, two lines a record, the counts
    for item in items:
        head = next(line for line in lines if line.startswith(item["record_id"] + "  "))
        assert f"  {item['state']}" in head, result.out
    assert any(note in line for line in lines), result.out


def test_show_prints_no_control_character_from_a_pdf(cli, tmp_path, monkeypatch):
    from screener.fulltext import text as text_module

    review = fulltext_review(tmp_path, [COHORT])
    folder = tmp_path / "pdfs"
    write(folder, "x.pdf", article(COHORT["title"], "Rana Haddad", 2020))
    _attach(cli, review, folder)
    real = text_module.extract

    def hostile(*args, **kwargs):  # a PDF whose text layer holds escape sequences
        pdf = real(*args, **kwargs)
        marks = pdf.with_page_marks()
        monkeypatch.setattr(
            type(pdf), "with_page_marks", lambda self: marks + "\x1b]0;pwned\x07\x1b[2J\x9b31m end\n"
        )
        return pdf

    monkeypatch.setattr(text_module, "extract", hostile)
    out = cli("--review", str(review.root), "fulltext", "show", review.records()[0].id).out
    assert "Sleep duration" in out and "end\n" in out
    assert all(c.isprintable() or c in "\n\t" for c in out), repr(out[-80:])


def test_a_replaced_pdf_is_never_shown_as_the_report(cli, tmp_path):
    from screener.fulltext import reports, verified_pdf

    review = fulltext_review(tmp_path, [COHORT])
    folder = tmp_path / "pdfs"
    write(folder, "x.pdf", article(COHORT["title"], "Rana Haddad", 2020))
    _attach(cli, review, folder)
    record_id = review.records()[0].id
    report = next(r for r in reports(review)[0] if r.record.id == record_id)
    assert verified_pdf(review, report)  # the attached file as it was: read
    stored = review.root / report.path
    stored.write_bytes(article("Another paper entirely", "Someone Else", 1999))
    shown = cli("--review", str(review.root), "fulltext", "show", record_id)
    assert shown.code == 2 and "replaced or damaged" in shown.err and "Another paper" not in shown.out
    assert "Traceback" not in shown.err
    status = cli("--review", str(review.root), "fulltext", "status")
    assert status.code == 0 and "replaced or damaged" in status.out, status.out
    listed = cli("--review", str(review.root), "fulltext", "status", "--json")
    assert [item["intact"] for item in json.loads(listed.out) if item["record_id"] == record_id] == [False]


def test_list_missing_to_standard_output_with_a_dash(cli, tmp_path, monkeypatch):
    """`-o -` is standard output, as for export and report (it wrote a file named '-')."""
    review = fulltext_review(tmp_path, [COHORT])
    monkeypatch.chdir(tmp_path)
    result = cli("--review", str(review.root), "fulltext", "list", "--missing", "--format", "ris", "-o", "-")
    assert result.code == 0 and "TY  - " in result.out, result.err
    assert not (tmp_path / "-").exists()


def test_the_manifest_folds_by_timestamp_not_by_line_order(tmp_path):
    """Two clones' lines, interleaved by git's union merge: the newest line counts, `check`
    hears that the order disagrees, and a new line is stamped after the newest in the file."""
    from screener.fulltext.manifest import (
        COLUMNS,
        Entry,
        append,
        latest,
        manifest_path,
        new_entry,
        pdf_file_name,
        read_manifest,
    )

    root = tmp_path / "r"
    manifest_path(root).parent.mkdir(parents=True)
    rid = "pmid:1"
    newer = Entry(
        rid, "prepared", "a" * 64, pdf_file_name(rid), "attach", timestamp="2026-03-02T10:00:00+00:00"
    )
    older = Entry(rid, "not_available", timestamp="2026-03-01T10:00:00+00:00")
    lines = [",".join(COLUMNS), ",".join(newer.row()), ",".join(older.row())]
    manifest_path(root).write_text("\n".join(lines) + "\n")
    entries, warnings = read_manifest(root)
    assert latest(entries)[rid].state == "prepared"
    assert any("timestamps disagree" in w for w in warnings)
    # A clone whose clock is behind: its line still outranks every line already there.
    behind = new_entry(rid, "not_available", "bob")
    append(root, [dataclasses.replace(behind, timestamp="2020-01-01T00:00:00+00:00")])
    assert latest(read_manifest(root)[0])[rid].state == "not_available"
