"""Deduplication: each normalisation, each not-a-duplicate case, human decisions, the CLI.

Records are written as the databases give them (MEDLINE vs Embase vs Scopus styles), with the
bibliographic data of studies cited in the worked example.
"""

from __future__ import annotations

import csv
import json

import pytest

from screener import normalise as N
from screener.dedup import deduplicate, evaluate_clusters, merge_cluster
from screener.dedup.decisions import append_decision, read_decisions
from screener.errors import ScreenerError
from screener.records import Record, finalise

from .conftest import SAMPLES


def rec(**fields) -> Record:
    return finalise(Record(**fields))


OSBORNE_MEDLINE = dict(
    search="medline",
    pmid="16511671",
    doi="10.1245/ASO.2006.03.071",
    title="Improved outcome with cytoreduction versus embolization for symptomatic hepatic metastases "
    "of carcinoid and neuroendocrine tumors.",
    authors=["Osborne, Dale A", "Zervos, Emmanuel E", "Strosberg, Jonathan", "Boe, Barbara A"],
    year=2006,
    journal="Annals of surgical oncology",
    journal_abbrev="Ann Surg Oncol",
    volume="13",
    issue="4",
    pages="572-81",
    abstract="BACKGROUND: Patients with symptomatic hepatic metastases of neuroendocrine tumours were "
    "treated by cytoreduction or by embolization.",
)
OSBORNE_EMBASE = dict(
    search="embase",
    source_id="embase:L43567890",
    title="Improved outcome with cytoreduction versus embolization for symptomatic hepatic metastases "
    "of carcinoid and neuroendocrine tumors",
    authors=["Osborne D.A.", "Zervos E.E.", "Strosberg J.", "Boe B.A."],
    year=2006,
    journal="Ann. Surg. Oncol.",
    volume="13",
    issue="4",
    pages="572-581",
    abstract="Background: Patients with symptomatic hepatic metastases of neuroendocrine tumours were "
    "treated by cytoreduction or by embolization.",
)


def clusters_of(records: list[Record], **kwargs) -> list[set[int]]:
    result = deduplicate(records, **kwargs)
    return sorted((set(c) for c in result.clusters), key=min)


def same_cluster(records: list[Record], **kwargs) -> bool:
    result = deduplicate(records, **kwargs)
    return len(set(result.cluster_of.tolist())) == 1


# -- normalisation -----------------------------------------------------------------------


def test_fold_case_punctuation_diacritics_markup_greek():
    assert N.fold("Müller's <i>in vivo</i> study, Part-II.") == "muller s in vivo study part ii"
    assert N.fold("TNF-α and IL-1β") == N.fold("TNF-alpha and IL-1beta").replace("1beta", "1 beta")
    assert N.fold("TNF-α") == "tnf alpha" == N.fold("TNF-alpha")
    assert N.fold("x<sup>2</sup> <mml:math><mml:mi>y</mml:mi></mml:math>") == "x 2 y"
    assert N.fold("Øresund Æble œuvre straße") == "oresund aeble oeuvre strasse"


def test_title_key_translated_and_language_notes():
    english = "Hepatic resection for liver metastases of neuroendocrine tumours"
    assert N.title_key(f"[{english}]. [Article in German]") == N.title_key(english + ".")
    assert N.title_key(f"{english} (Article in French)") == N.title_key(english)
    assert N.title_key("Liver surgery: a review") == "liver surgery  a review"  # main title kept apart
    # Embase ends a translated title with its language in brackets.
    assert N.title_key(f"[{english}]. [Japanese]") == N.title_key(english)
    assert N.title_key(f"{english} [German, English]") == N.title_key(english)
    assert N.title_key("Results of the [German] trial") != N.title_key("Results of the trial")


def test_authors_in_every_format():
    forms = ["Smith, John A.", "Smith JA", "J. A. Smith", "Smith J.A.", "John Smith", "SMITH, J"]
    assert {N.parse_author(f) for f in forms} == {N.Author("smith", "j")}
    # Particles are left out of the key: databases keep them in the surname, move them to the
    # given names or drop them, so a key with them made one author look like two.
    assert N.parse_author("van der Berg, Anna").surname == "berg"
    assert N.parse_author("Anna van der Berg").surname == "berg"
    assert N.authors_key(["Osborne, Dale A", "Zervos, E E"]) == N.authors_key(["Osborne D.A.", "Zervos E.E."])


def test_journal_abbreviations():
    key = N.journal_key
    assert N.journals_match(key("J Am Coll Surg"), key("Journal of the American College of Surgeons"))
    assert N.journals_match(key("Ann. Surg. Oncol."), key("Annals of surgical oncology"))
    assert N.journals_match(key("JAMA"), key("Journal of the American Medical Association"))
    assert N.journals_match(key("HPB (Oxford)"), key("HPB : the official journal of the IHPBA"))
    assert N.journals_match(key("Circulation. Conference: AHA Scientific Sessions"), key("Circulation"))
    assert N.journals_match(key("Atherosclerosis Supplements"), key("Atherosclerosis"))
    assert not N.journals_match(key("Ann Surg"), key("Annals of Surgical Oncology"))
    assert not N.journals_match(key("Surgery"), key("World Journal of Surgery"))


def test_page_ranges():
    assert N.pages_key("1097-102") == ("1097", "1102") == N.pages_key("1097-1102")
    assert N.pages_key("572–81") == ("572", "581")
    assert N.pages_key("S557-S558") == ("s557", "s558")
    assert N.pages_key("e24") == ("e24", "")
    assert N.number_key("Vol. 13 (Suppl 2)") == "13"


def test_notice_protocol_part_detection():
    assert N.notice_kind(N.title_key("Erratum: Improved outcome with cytoreduction"), [])
    assert N.notice_kind(N.title_key("Correction to: Hepatic resection"), [])
    assert N.notice_kind(N.title_key("Hepatic resection"), ["Published Erratum"])
    assert not N.notice_kind(N.title_key("Hepatic resection"), ["Journal Article", "Review"])
    assert N.is_protocol(N.title_key("Liver resection for NET metastases: protocol for a systematic review"))
    assert N.part_number(N.title_key("Neuroendocrine liver metastases. Part II")) == "2"
    assert N.part_number(N.title_key("Neuroendocrine liver metastases, part 2")) == "2"


# -- duplicates found --------------------------------------------------------------------


def test_medline_and_embase_copies_merge_with_explanation():
    result = deduplicate([rec(**OSBORNE_MEDLINE), rec(**OSBORNE_EMBASE)])
    assert len(result.clusters) == 1
    (pair,) = [p for p in result.pairs if p.label == "duplicate"]
    assert "title 100" in pair.reason and "authors 100" in pair.reason and "pages =" in pair.reason


def test_translated_title_in_brackets_merges():
    english = dict(
        OSBORNE_EMBASE, title="Resection of liver metastases from neuroendocrine tumours", source_id=""
    )
    medline = dict(
        OSBORNE_MEDLINE,
        title="[Resection of liver metastases from neuroendocrine tumours]. [Article in French]",
        doi="",
        pmid="10000001",
    )
    assert same_cluster([rec(**english), rec(**medline)])


def test_title_in_two_languages_at_the_same_page_range_merges():
    """Scopus lists the English title, the publisher the German one: same issue and pages."""
    english = rec(
        search="scopus",
        title="Platform economy and crowdworking as challenges for the German model of industrial relations",
        authors=["Greef, S.", "Schroeder, W."],
        year=2020,
        journal="Industrielle Beziehungen",
        volume="27",
        issue="2",
        pages="205-226",
    )
    german = rec(
        search="publisher",
        title="Plattformökonomie und Crowdworking als Herausforderungen für das deutsche Modell der "
        "Arbeitsbeziehungen",
        authors=["Greef, Samuel", "Schroeder, Wolfgang"],
        year=2020,
        journal="Industrielle Beziehungen",
        volume="27",
        issue="2",
        pages="205 - 226",
        doi="10.3224/indbez.v27i2.06",
    )
    assert same_cluster([english, german])
    # A single page is not a range: two short items can share it, so they stay apart.
    one_page = [
        rec(**{**vars(english), "id": "", "pages": "205"}),
        rec(**{**vars(german), "id": "", "pages": "205"}),
    ]
    assert not same_cluster(one_page)
    # Another issue, or other authors: different articles.
    assert not same_cluster([english, rec(**{**vars(german), "id": "", "issue": "3"})])
    assert not same_cluster([english, rec(**{**vars(german), "id": "", "authors": ["Other, A."]})])


def test_greek_letters_and_markup_merge():
    a = dict(
        OSBORNE_EMBASE, title="Somatostatin analogues and TNF-α in <i>neuroendocrine</i> liver metastases"
    )
    b = dict(
        OSBORNE_MEDLINE,
        doi="",
        title="Somatostatin analogues and TNF-alpha in neuroendocrine liver metastases.",
    )
    assert same_cluster([rec(**a), rec(**b)])


def test_same_doi_merges_even_with_few_fields():
    a = rec(search="a", doi="10.1111/hpb.12225", title="When should a liver resection be performed?")
    b = rec(
        search="b",
        doi="https://doi.org/10.1111/HPB.12225",
        title="When should a liver resection be performed in patients with liver metastases?",
    )
    assert same_cluster([a, b])


# -- not duplicates ----------------------------------------------------------------------


def test_erratum_is_not_the_article():
    erratum = dict(
        OSBORNE_MEDLINE,
        pmid="16900001",
        doi="",
        title="Erratum: " + OSBORNE_MEDLINE["title"],
        pages="1162",
        issue="8",
        abstract="",
    )
    assert not same_cluster([rec(**OSBORNE_MEDLINE), rec(**erratum)])
    correction = dict(
        OSBORNE_EMBASE, title="Correction to: " + OSBORNE_EMBASE["title"], pages="1162", source_id=""
    )
    assert not same_cluster([rec(**OSBORNE_EMBASE), rec(**correction)])


def test_comment_and_retraction_are_not_the_article():
    for prefix in ("Comment on: ", "Retraction notice to: ", "Reply to "):
        notice = dict(
            OSBORNE_EMBASE, title=prefix + OSBORNE_EMBASE["title"], source_id="", pages="", abstract=""
        )
        assert not same_cluster([rec(**OSBORNE_EMBASE), rec(**notice)]), prefix


def test_conference_abstract_is_not_the_later_article():
    abstract = dict(
        OSBORNE_EMBASE,
        source_id="embase:L70000001",
        year=2005,
        volume="12",
        issue="Suppl 1",
        pages="S45",
        journal="Annals of Surgical Oncology. Conference: 58th Annual Cancer Symposium",
        publication_types=["Conference Abstract"],
    )
    assert not same_cluster([rec(**OSBORNE_MEDLINE), rec(**abstract)])


def test_the_same_meeting_abstract_from_two_databases_merges():
    base = dict(
        title="Liver resection for neuroendocrine metastases improves survival in a registry",
        authors=["Kim S.", "Yang J."],
        year=2013,
        volume="44",
        abstract="",
    )
    a = rec(search="embase", journal="Stroke. Conference: International Stroke Conference", **base)
    b = rec(search="medline", journal="Stroke", **base)
    assert same_cluster([a, b])


def test_parts_of_a_series_are_different():
    part1 = dict(
        OSBORNE_EMBASE,
        source_id="",
        title="Neuroendocrine liver metastases. Part I: diagnosis",
        pages="10-20",
    )
    part2 = dict(
        OSBORNE_EMBASE,
        source_id="",
        title="Neuroendocrine liver metastases. Part II: diagnosis",
        pages="21-30",
    )
    assert not same_cluster([rec(**part1), rec(**part2)])


def test_same_title_different_years_are_different_studies():
    first = dict(OSBORNE_EMBASE, source_id="", year=2004, volume="11", pages="100-110")
    second = dict(OSBORNE_EMBASE, source_id="", year=2009, volume="16", pages="200-210")
    assert not same_cluster([rec(**first), rec(**second)])


def test_protocol_and_results_are_different():
    protocol = rec(
        search="a",
        title="Liver resection versus embolisation for neuroendocrine metastases: "
        "protocol for a systematic review",
        authors=["Lesurtel M", "Poston GJ"],
        year=2012,
    )
    review = rec(
        search="b",
        title="Liver resection versus embolisation for neuroendocrine metastases: a systematic review",
        authors=["Lesurtel M", "Poston GJ"],
        year=2012,
    )
    assert not same_cluster([protocol, review])


def test_generic_titles_need_more_than_a_title():
    issues = [
        rec(
            search="a",
            title="Editor's Comments",
            authors=["Weber, Ron"],
            year=2002,
            journal="MIS Quarterly",
            volume="26",
            issue=str(n),
        )
        for n in (1, 2, 3)
    ]
    assert len(deduplicate(issues).clusters) == 3


def test_one_doi_for_a_whole_supplement_does_not_merge():
    doi = "10.1007/s00125-017-4350-z"
    a = rec(
        search="a",
        doi=doi,
        title="Patterns of glucose-lowering medication use in heart failure",
        authors=["Arnold S. V.", "Tcheugui J. E."],
        year=2017,
        journal="Diabetologia",
        pages="S100",
    )
    b = rec(
        search="b",
        doi=doi,
        title="DPP4 inhibition by linagliptin prevents heart failure in mice",
        authors=["Heymans S.", "Cuijpers I."],
        year=2017,
        journal="Diabetologia",
        pages="S200",
    )
    assert not same_cluster([a, b])


def test_different_pmids_never_merge():
    other = dict(OSBORNE_MEDLINE, pmid="16511672")
    assert not same_cluster([rec(**OSBORNE_MEDLINE), rec(**other)])


# -- clusters, humans, representatives -------------------------------------------------


def test_human_decisions_override_and_cut_chains():
    a, b = rec(**OSBORNE_MEDLINE), rec(**OSBORNE_EMBASE)
    third = rec(**dict(OSBORNE_EMBASE, search="scopus", source_id="scopus:2-s2.0-1", pages="572"))
    assert same_cluster([a, b, third])
    split = clusters_of([a, b, third], different=[(a.id, third.id)])
    assert all(not ({0, 2} <= c) for c in split)  # never together, whatever chain links them
    joined = deduplicate(
        [a, rec(search="x", title="Something else entirely", year=1999)], same=[(a.id, "h:none")]
    )
    assert len(joined.clusters) == 2  # a decision about an unknown id changes nothing


def test_rerun_with_decisions_gives_same_clusters():
    records = [rec(**OSBORNE_MEDLINE), rec(**OSBORNE_EMBASE)]
    first = deduplicate(records, different=[(records[0].id, records[1].id)])
    again = deduplicate(records, different=[(records[0].id, records[1].id)])
    assert first.cluster_of.tolist() == again.cluster_of.tolist()
    assert len(first.clusters) == 2


def test_merged_record_keeps_every_source():
    merged = merge_cluster([rec(**OSBORNE_EMBASE), rec(**OSBORNE_MEDLINE)])
    assert merged.pmid == "16511671" and merged.source_id == "embase:L43567890"
    assert set(merged.extra["merged_searches"].split(";")) == {"medline", "embase"}
    assert len(merged.extra["merged_ids"].split(";")) == 2


def test_pairs_grow_linearly():
    records = [
        rec(
            search="s",
            title=f"Study number {n} of liver resection for tumour type {n * 7919 % 1000}",
            authors=[f"Author{n}, A"],
            year=2000 + n % 20,
        )
        for n in range(3000)
    ]
    result = deduplicate(records)
    assert result.compared < 3000 * 40
    assert len(result.clusters) == 3000


def test_empty_and_single_inputs():
    assert deduplicate([]).clusters == []
    assert len(deduplicate([rec(**OSBORNE_MEDLINE)]).clusters) == 1


def test_evaluation_convention():
    gold = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "s": "S"}
    # perfect: keep a1, b1, s
    assert evaluate_clusters(gold, ["a1", "b1", "s"]).__dict__ == {"tp": 2, "fp": 0, "fn": 0, "tn": 3}
    # A merged into B's cluster (kept b1 only): A loses every record -> one FP
    c = evaluate_clusters(gold, ["b1", "s"])
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 0, 2)
    # nothing merged: two extra A records kept
    c = evaluate_clusters(gold, ["a1", "a2", "a3", "b1", "s"])
    assert (c.tp, c.fp, c.fn, c.tn) == (0, 0, 2, 3)


# -- decisions file and CLI ------------------------------------------------------------


def test_decisions_file_append_only_latest_wins(tmp_path):
    path = tmp_path / "labels" / "dedup.csv"
    append_decision(path, "pmid:1", "doi:10.1/x", "same", "alice")
    append_decision(path, "doi:10.1/x", "pmid:1", "different", "bob")
    decisions = read_decisions(path)
    assert len(decisions) == 1 and next(iter(decisions.values())).decision == "different"
    lines = path.read_text().splitlines()
    assert lines[0].startswith("record_id_1,record_id_2,decision") and len(lines) == 3
    with path.open("a") as handle:
        handle.write("pmid:1,pmid:2,maybe\n")
    with pytest.raises(ScreenerError, match=r"dedup.csv:4"):
        read_decisions(path)


def test_cli_standalone(cli, tmp_path):
    table = tmp_path / "records.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "title", "author", "journal", "year", "volume", "number", "pages", "doi"])
        writer.writerow(
            [
                "r1",
                OSBORNE_MEDLINE["title"],
                "Osborne, D. A. and Zervos, E. E.",
                "Ann Surg Oncol",
                "2006",
                "13",
                "4",
                "572-81",
                "10.1245/ASO.2006.03.071",
            ]
        )
        writer.writerow(
            [
                "r2",
                OSBORNE_EMBASE["title"],
                "Osborne D.A. and Zervos E.E.",
                "Annals of Surgical Oncology",
                "2006",
                "13",
                "4",
                "572-581",
                "",
            ]
        )
        writer.writerow(
            [
                "r3",
                "Erratum: " + OSBORNE_EMBASE["title"],
                "Osborne D.A.",
                "Ann Surg Oncol",
                "2006",
                "13",
                "8",
                "1162",
                "",
            ]
        )
    out, pairs = tmp_path / "clusters.csv", tmp_path / "pairs.csv"
    result = cli(
        "dedup",
        "--input",
        str(table),
        "--input",
        str(SAMPLES / "wos.ciw"),
        "--output",
        str(out),
        "--pairs-out",
        str(pairs),
        "--json",
    )
    assert result.code == 0, result
    summary = json.loads(result.out)
    assert summary["records"] == 4 and summary["duplicates_removed"] == 1
    rows = {r["id"]: r for r in csv.DictReader(out.open())}
    assert rows["r1"]["cluster_id"] == rows["r2"]["cluster_id"] != rows["r3"]["cluster_id"]
    assert "pmid:16368504" in rows  # a non-table input keeps its record id
    explained = list(csv.DictReader(pairs.open()))
    assert any(p["label"] == "duplicate" and "title" in p["explanation"] for p in explained)


def test_cli_review_report_and_decisions(cli, review):
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    review.import_file(SAMPLES / "embase.ris", "embase", database="Embase")
    review.import_file(SAMPLES / "wos.ciw", "wos", database="Web of Science")
    result = cli("--review", str(review.root), "dedup", "--json")
    assert result.code == 0, result
    report = json.loads(result.out)
    assert report["records"] == 5 and report["duplicates_removed"] == 1  # Osborne in MEDLINE and Embase
    per_search = {s["name"]: s for s in report["searches"]}
    assert sum(s["duplicates_removed"] for s in per_search.values()) == 1
    medline_id, embase_id = "pmid:16511671", "doi:10.1245/aso.2006.03.071"
    out, pairs = review.root / "clusters.csv", review.root / "pairs.csv"
    written = cli("--review", str(review.root), "dedup", "--output", str(out), "--pairs-out", str(pairs))
    assert written.code == 0, written
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 5 and sum(int(r["kept"]) for r in rows) == 4
    # Each pair says which search each record came from: the export a person opens to look.
    same = [p for p in csv.DictReader(pairs.open()) if p["same_study"] == "yes"]
    assert [{p["id_1"]: p["search_1"], p["id_2"]: p["search_2"]} for p in same] == [
        {medline_id: "medline", embase_id: "embase"}
    ]
    from screener.dedup import dedup_review

    studies = dedup_review(review).studies()
    osborne = next(s for s in studies if s.pmid == "16511671")
    assert set(osborne.extra["merged_searches"].split(";")) == {"medline", "embase"}
    assert len(studies) == 4
    append_decision(review.labels_dir / "dedup.csv", medline_id, embase_id, "different", "carol")
    again = json.loads(cli("--review", str(review.root), "dedup", "--json").out)
    assert again["duplicates_removed"] == 0
    # Two copies sharing their id (one DOI in two searches) are told apart by where they are.
    other = review.root.parent / "embase-again.ris"  # another export of the same records
    other.write_bytes((SAMPLES / "embase.ris").read_bytes() + b"\n")
    review.import_file(other, "embase-again", database="Embase", allow_overlap=True)
    assert cli("--review", str(review.root), "dedup", "--pairs-out", str(pairs)).code == 0
    shared = [p for p in csv.DictReader(pairs.open()) if p["id_1"] == p["id_2"]]
    assert shared and all({p["search_1"], p["search_2"]} == {"embase", "embase-again"} for p in shared)
    files = {review.search(name).files[0].path for name in ("embase", "embase-again")}
    assert all({p["file_1"], p["file_2"]} == files for p in shared)  # the export to open


def test_interactive_pair_review_in_a_terminal(review):
    """`screener dedup --review` in a real pseudo-terminal: keys in, labels/dedup.csv lines out."""
    import os
    import sys

    pexpect = pytest.importorskip("pexpect")
    review.import_file(SAMPLES / "embase.ris", "embase", database="Embase")
    later = (SAMPLES / "embase.ris").read_text().split("ER  -")[0] + "ER  - \n"
    later = later.replace("Y1  - 2006", "Y1  - 2007").replace("U2  - L43567890", "U2  - L99999999")
    for tag in ("DO  -", "L2  -", "VL  -", "IS  -", "SP  -", "EP  -", "UR  -", "N2  -", "were treated"):
        later = "\n".join(line for line in later.splitlines() if not line.startswith(tag)) + "\n"
    (review.root / "later.ris").write_text(later)
    review.import_file(review.root / "later.ris", "embase-update", database="Embase")

    env = dict(os.environ, COLUMNS="140", LINES="50", TERM="xterm")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "screener", "dedup", "--review", "--reviewer", "carol"],
        cwd=str(review.root),
        env=env,
        encoding="utf-8",
        timeout=20,
    )
    child.expect("Pair 1 of 1")
    child.expect("quit")
    child.send("x")  # not a key it knows: nothing happens
    child.send("d")
    child.expect("saved: different")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    lines = (review.labels_dir / "dedup.csv").read_text().splitlines()
    assert len(lines) == 2 and lines[1].split(",")[2:4] == ["different", "carol"]
    from screener.dedup import dedup_review

    assert dedup_review(review).pending == []


def test_review_dedup_is_cached_until_an_input_changes(review):
    import shutil

    from screener.dedup import dedup_review

    review.import_file(SAMPLES / "medline.nbib", "medline")
    review.import_file(SAMPLES / "embase.ris", "embase")
    first = dedup_review(review)
    cached = list((review.cache_dir / "dedup").iterdir())
    assert len(cached) == 1
    again = dedup_review(review)
    assert again.result.cluster_of.tolist() == first.result.cluster_of.tolist()
    assert [p.__dict__ for p in again.result.pairs] == [p.__dict__ for p in first.result.pairs]
    review.import_file(SAMPLES / "wos.ciw", "wos")  # a new search: computed afresh
    assert dedup_review(review).records_in == 5
    shutil.rmtree(review.cache_dir)
    assert dedup_review(review).records_in == 5


def test_pending_pairs_show_each_id_pair_once():
    """Two copies of one record (one PMID, two searches) both uncertain with a third record are
    one question: a decision is on the ids and covers both."""
    import numpy as np

    from screener.dedup import DedupResult, Pair, pending_pairs

    records = [Record(id="pmid:1", search="a"), Record(id="pmid:1", search="b"), Record(id="h:2", search="a")]
    pairs = [
        Pair("pmid:1", "h:2", "uncertain", 80.0, 80.0, 0.0, "close titles"),
        Pair("h:2", "pmid:1", "uncertain", 80.0, 80.0, 0.0, "close titles"),
    ]
    result = DedupResult(records, np.array([0, 0, 1]), pairs)
    assert [(p.id_1, p.id_2) for p in pending_pairs(result)] == [("pmid:1", "h:2")]


def test_a_pair_that_is_not_a_duplicate_but_ends_in_one_study_says_through_what():
    import numpy as np

    from screener.dedup import DedupResult, Pair

    records = [Record(id="a"), Record(id="b"), Record(id="c"), Record(id="d")]
    pairs = [
        Pair("a", "b", "duplicate", 99.0, 90.0, 0.0, "same title"),
        Pair("b", "c", "duplicate", 99.0, 90.0, 0.0, "same title"),
        Pair("a", "c", "distinct", 70.0, 20.0, 0.0, "titles differ"),
        Pair("a", "d", "distinct", 60.0, 10.0, 0.0, "titles differ"),
    ]
    outcomes = DedupResult(records, np.array([0, 0, 0, 1]), pairs).pair_outcomes()
    assert outcomes[0] == (True, "same title")
    assert outcomes[2] == (True, "titles differ; in one study all the same, joined through b")
    assert outcomes[3] == (False, "titles differ")


def test_the_review_says_whose_copy_of_a_duplicate_is_kept(tmp_path):
    """[dedup] keep_first decides which search's copy stays (and which search PRISMA charges
    with the duplicate); a name that is no search is an error naming the key."""
    from screener.dedup import dedup_review
    from screener.review import Review, init_review

    review = Review(init_review(tmp_path / "r"))
    review.import_file(SAMPLES / "medline.nbib", "medline")
    review.import_file(SAMPLES / "embase.ris", "embase")
    default = {s.name: s.duplicates_removed for s in dedup_review(review).searches}
    assert default["embase"] == sum(default.values()) >= 1  # by default the copy with a PMID stays
    with review.config_path.open("a") as handle:
        handle.write('\n[dedup]\nkeep_first = ["embase"]\n')
    preferred = {s.name: s.duplicates_removed for s in dedup_review(Review(review.root)).searches}
    assert preferred["embase"] == 0 and preferred["medline"] == sum(default.values())
    text = review.config_path.read_text().replace('keep_first = ["embase"]', 'keep_first = ["embsae"]')
    review.config_path.write_text(text)
    with pytest.raises(ScreenerError, match="dedup.keep_first names 'embsae'"):
        dedup_review(Review(review.root))


def test_pair_review_keeps_the_pair_and_its_ids_on_an_80x24_screen(review, monkeypatch, tmp_path):
    """fix-rest 5: a pair with long abstracts is taller than 24 lines; the heading and the ids
    (the table's first lines) scrolled off. The last screenful, by the keys, names them."""
    from types import SimpleNamespace

    from rich.console import Console

    from screener.dedup import review_pairs as module

    long = "Patients were randomised to one of two arms and followed for survival. " * 6
    a = Record(id="pmid:111", search="medline", title="A trial of resection " * 4, abstract=long)
    b = Record(id="doi:10.1/xyz", search="embase", title="A trial of resection " * 4, abstract=long)
    pair = SimpleNamespace(id_1=a.id, id_2=b.id, reason="uncertain: close titles")
    outcome = SimpleNamespace(result=SimpleNamespace(records=[a, b]), pending=[pair])
    console = Console(width=80, height=24, record=True, force_terminal=False)
    monkeypatch.setattr(module.click, "getchar", lambda: "q")
    module.review_pairs(review, outcome, "carol", console)
    lines = console.export_text().splitlines()
    assert len(lines) > 24
    last_screen = "\n".join(lines[-24:])
    assert "Pair 1 of 1" in last_screen and "pmid:111" in last_screen and "doi:10.1/xyz" in last_screen
