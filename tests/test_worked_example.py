"""The worked example at the repository root: Lesurtel et al., HPB 2015, 1594 records → 38 studies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from screener.prisma import explain, prisma_counts
from screener.review import Review

from .conftest import REPO, SAMPLES, SHARED_DATA

SEED = SHARED_DATA.parent / "seed"
# The included studies whose PMID the seed gives (included_38_identifiers.csv).
KNOWN_PMIDS = {
    "17998155",
    "16511671",
    "19464140",
    "18345317",
    "16368504",
    "18362629",
    "20585879",
    "12490844",
    "21654315",
}


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Review:
    """A copy of the worked example, so the tests never write into the repository."""
    root = tmp_path_factory.mktemp("lesurtel")
    shutil.copy(REPO / "review.toml", root / "review.toml")
    shutil.copytree(REPO / "searches", root / "searches")
    shutil.copytree(REPO / "labels", root / "labels")
    return Review(root)


def test_prisma_gives_1594_identified_and_38_included(example):
    counts = prisma_counts(example)
    data = counts.to_dict()
    identified = sum(
        data[k]
        for k in (
            "database_results",
            "register_results",
            "website_results",
            "organisation_results",
            "citations_results",
        )
    )
    assert identified == 1594 == len(example.records())
    assert data["total_studies"] == 38 and data["pending"] == {"title-abstract": 0, "full-text": 0}
    assert data["database_results_by_database"] == {"MEDLINE": 706, "Embase": 810, "Cochrane Library": 70}
    assert data["citations_results"] == 8
    # The flow adds up box by box.
    assert data["records_screened"] == data["database_results"] - data["duplicates"]
    assert data["dbr_sought_reports"] == data["records_screened"] - data["records_excluded"]
    assert data["dbr_assessed"] == data["dbr_sought_reports"] - data["dbr_notretrieved_reports"]
    assert data["new_studies"] == (
        data["dbr_assessed"]
        - sum(data["dbr_excluded"].values())
        + data["other_assessed"]
        - sum(data["other_excluded"].values())
    )
    assert set(data["dbr_excluded"]) <= set(example.config.exclusion_reasons)


def test_every_box_is_traceable_to_records(example):
    counts = prisma_counts(example)
    ids = {r.id for r in example.records()}
    for box in ("duplicates", "records_screened", "records_excluded", "dbr_assessed", "total_studies"):
        listed = explain(counts, box)
        assert len(listed) == counts.count(box) and set(listed) <= ids, box
    reason = "Overall survival not reported"
    assert len(explain(counts, reason)) == counts.to_dict()["dbr_excluded"][reason]
    # The included studies are the paper's: every PMID the seed knows is among them.
    from screener.screening import review_studies

    studies, _ = review_studies(example)
    included = [s for s in studies if s.id in set(explain(counts, "total_studies"))]
    assert len(included) == 38
    assert {s.pmid for s in included if s.pmid} == KNOWN_PMIDS
    assert not any("Synthetic record" in " ".join(s.keywords) for s in included)


def test_synthetic_records_are_marked(example):
    records = example.records()
    synthetic = [r for r in records if any(k.startswith("Synthetic record") for k in r.keywords)]
    unmarked = [r for r in records if r not in synthetic]
    # Real: the 38 included (one copy per source that has it) and the erratum to reference 18.
    assert {r.title for r in unmarked if r.title.startswith("Erratum")} == {
        "Erratum: Improved outcome with cytorreduction versus embolization for symptomatic hepatic "
        "metastases of carcinoid and neuroendocrine tumors"
    }
    assert not any(r.pmid for r in synthetic)
    assert all(r.doi.startswith("10.5555/") for r in synthetic if r.doi)


def test_cli_summary_and_diagram(cli, example, tmp_path):
    result = cli("prisma", "--diagram", str(tmp_path / "flow.png"), "--review", str(example.root))
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "1586 + 8 records identified" in text and "38 studies included" in text
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(cli("prisma", "--format", "json", "--review", str(example.root)).out)
    assert data["total_studies"] == 38
    out = cli("export", "--format", "ris", "--review", str(example.root)).out
    assert out.count("TY  - JOUR") == 38


@pytest.mark.skipif(not (SEED / "lesurtel_2015_hpb_review.txt").exists(), reason=f"the seed is not at {SEED}")
def test_reconstruction_rebuilds_the_committed_files_byte_for_byte(tmp_path):
    root = tmp_path / "rebuilt"
    (root / "searches").mkdir(parents=True)
    (root / "labels").mkdir()
    shutil.copy(REPO / "review.toml", root / "review.toml")
    script = REPO / "tools" / "reconstruct_worked_example.py"
    done = subprocess.run(
        [sys.executable, str(script), "--seed", str(SEED), "--review", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1594 records identified" in done.stdout and "38 studies included" in done.stdout
    for folder in ("searches", "labels"):
        committed = {
            p.relative_to(REPO): p.read_bytes()
            for p in (REPO / folder).rglob("*")
            if p.is_file() and p.name != "README.md"
        }
        rebuilt = {p.relative_to(root): p.read_bytes() for p in (root / folder).rglob("*") if p.is_file()}
        assert set(committed) == set(rebuilt), folder
        changed = [str(p) for p in committed if committed[p] != rebuilt[p]]
        assert not changed, changed


def test_update_shows_previous_and_new_studies(cli, example, tmp_path):
    import csv

    review = Review(tmp_path / "updated")
    shutil.copytree(example.root, review.root, ignore=shutil.ignore_patterns(".screener"))
    # A 2014 update search: Ovid's export holds Kianmanesh 2008 (included in 2012) and Que 1995
    # (included too); a CSV brings one new study.
    new = tmp_path / "update-2014.csv"
    with new.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "author", "year", "journal", "volume", "pages"])
        writer.writerow(
            [
                "Parenchymal-sparing resection of neuroendocrine liver metastases: 20-year survival",
                "Test A and Example B",
                2014,
                "HPB",
                16,
                "100-108",
            ]
        )
    result = cli(
        "update",
        "--import",
        f"ovid-2014={SAMPLES / 'ovid.ris'}",
        "--import",
        f"hand-2014={new}",
        "--json",
        "--review",
        str(review.root),
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["round"] == 2 and report["records_identified"] == 3
    assert report["duplicates_removed"] == 2 and report["new_studies_to_screen"] == 1
    assert report["previous_studies_included"] == 38
    # Only the new study waits for screening; the two reviewers include it at both stages.
    counts = prisma_counts(review)
    (new_id,) = counts.boxes["records_screened"]
    for stage in ("title-abstract", "full-text"):
        for reviewer in ("reviewer-a", "reviewer-b"):
            assert (
                cli(
                    "label",
                    new_id,
                    "include",
                    "--reviewer",
                    reviewer,
                    "--stage",
                    stage,
                    "--review",
                    str(review.root),
                ).code
                == 0
            )
    data = json.loads(cli("prisma", "--format", "json", "--review", str(review.root)).out)
    assert data["previous_studies"] == 38 and data["new_studies"] == 1 and data["total_studies"] == 39
    assert data["database_results"] == 3 and data["duplicates"] == 2
    text = " ".join(
        cli("prisma", "--diagram", str(tmp_path / "update.svg"), "--review", str(review.root)).out.split()
    )
    assert "38 previous + 1 new = 39 studies included" in text
    import re

    # The diagram's text, line by line as drawn (SVG keeps real text).
    svg = (tmp_path / "update.svg").read_text(encoding="utf-8").replace("\u00a0", " ")
    drawn = " ".join(re.findall(r">([^<>]+)</text>", svg))
    for text in ("Previous studies", "previous version of review (n = 38)", "(n = 39)", "New studies"):
        assert text in drawn, text
