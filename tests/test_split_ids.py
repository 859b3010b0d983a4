"""No id names two records that dedup keeps apart (#14): an erratum that carries its article's
DOI, found by another search, gets an id of its own; the record found first keeps the shared id;
decisions made while they shared it are carried by appending, never by rewriting."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from screener.dedup import deduplicate
from screener.records import Record, finalise
from screener.review import Review
from screener.screening.decisions import read_log

DOI = "10.1000/thx.2010.0301"
TITLE = "Fast-track recovery after laparoscopic liver resection in cirrhotic patients"


def ris(*records: dict[str, str]) -> str:
    out = []
    for fields in records:
        out.append("TY  - JOUR")
        for key, value in fields.items():
            for item in value.split("|"):
                out.append(f"{key}  - {item}")
        out.append("ER  - ")
        out.append("")
    return "\n".join(out) + "\n"


ARTICLE = {
    "TI": TITLE,
    "AU": "Hamont, Daan|Okafor, Nkem",
    "PY": "2010",
    "JO": "Thorax",
    "VL": "65",
    "SP": "301",
    "EP": "309",
    "DO": DOI,
    "AB": "We followed 120 cirrhotic patients after laparoscopic resection.",
}
ERRATUM = {
    "TI": f"Erratum: {TITLE}",
    "AU": "Hamont, Daan|Okafor, Nkem",
    "PY": "2011",
    "JO": "Thorax",
    "VL": "66",
    "SP": "540",
    "DO": DOI,
}
OTHER = {
    "TI": "Portal vein embolisation before major hepatectomy: a cohort",
    "AU": "Ruiz, Ana",
    "PY": "2012",
    "JO": "HPB",
    "VL": "14",
    "SP": "10",
    "EP": "18",
}


def test_the_shared_doi_is_split_and_the_earlier_record_keeps_it() -> None:
    article = finalise(Record(search="embase", doi=DOI, title=TITLE, authors=["Hamont, D."], year=2010))
    erratum = finalise(Record(search="cochrane", doi=DOI, title=f"Erratum: {TITLE}", authors=["Hamont, D."]))
    assert article.id == erratum.id == f"doi:{DOI}"
    # The erratum comes first in the list but arrived later: seniority, not position, decides.
    result = deduplicate([erratum, article], seniority=[(2, ""), (1, "")])
    ids = [r.id for r in result.records]
    assert ids[1] == f"doi:{DOI}"
    assert ids[0].startswith(f"doi:{DOI}~") and ids[0] != ids[1]
    assert len(set(result.cluster_of.tolist())) == 2
    # Without seniority the first in the list keeps it; either way the split id is the same.
    again = deduplicate([erratum, article])
    assert again.records[0].id == f"doi:{DOI}" and again.records[1].id.startswith(f"doi:{DOI}~")
    # Copies of one record found twice keep sharing their id.
    copy = finalise(Record(search="medline", doi=DOI, title=TITLE, authors=["Hamont, D."], year=2010))
    merged = deduplicate([article, copy])
    assert [r.id for r in merged.records] == [f"doi:{DOI}", f"doi:{DOI}"]


@pytest.fixture
def review_with_erratum(tmp_path: Path, cli) -> Review:
    root = tmp_path / "review"
    assert cli("init", str(root), "--reviewer", "alice", "--reviewer", "bob").code == 0
    (tmp_path / "embase.ris").write_text(ris(ARTICLE, OTHER))
    (tmp_path / "cochrane.ris").write_text(ris(ERRATUM))
    for name in ("embase", "cochrane"):
        result = cli("import", str(tmp_path / f"{name}.ris"), "--search", name, "--review", str(root))
        assert result.code == 0, result
    return Review(root)


def test_one_label_decides_one_record_and_prisma_counts_each_once(review_with_erratum: Review, cli) -> None:
    root = str(review_with_erratum.root)
    prisma = json.loads(cli("prisma", "--format", "json", "--review", root).out)
    screened_before = prisma["records_screened"]
    assert screened_before == 3
    result = cli("--review", root, "dedup", "--json")
    split = json.loads(result.out)["split_ids"]
    assert [s["shared_id"] for s in split] == [f"doi:{DOI}"]
    # The article was imported first (embase), so it keeps the DOI id.
    assert split[0]["search"] == "cochrane"
    for reviewer in ("alice", "bob"):
        assert cli("label", f"doi:{DOI}", "exclude", "--reviewer", reviewer, "--review", root).code == 0
    prisma = json.loads(cli("prisma", "--format", "json", "--review", root).out)
    assert prisma["records_excluded"] == 1  # the article only; the erratum still awaits screening
    assert cli("label", split[0]["split_id"], "include", "--reviewer", "alice", "--review", root).code == 0


def test_decisions_made_while_the_id_was_shared_are_carried_by_appending(
    review_with_erratum: Review, cli
) -> None:
    root = str(review_with_erratum.root)
    labels = review_with_erratum.labels_dir / "title-abstract" / "alice.csv"
    # A file from before the split: alice's decision on the DOI id was shown on both records.
    labels.parent.mkdir(parents=True, exist_ok=True)
    labels.write_text(
        "record_id,decision,reason,note,timestamp,version\n"
        f"doi:{DOI},exclude,,not a cohort,2099-01-01T00:00:00.000+00:00,0.1.0\n"
    )
    before = labels.read_bytes()
    listed = cli("--review", root, "dedup")
    assert listed.code == 0 and "1 decisions were made while the id was shared" in listed.out
    assert labels.read_bytes() == before  # listing writes nothing
    carried = cli("--review", root, "dedup", "--carry-decisions", "--json")
    assert carried.code == 0 and json.loads(carried.out)["decisions_carried"] == 1
    after = labels.read_bytes()
    assert after.startswith(before)  # appended, nothing rewritten
    decisions = read_log(labels)
    split_id = decisions[-1].record_id
    assert split_id.startswith(f"doi:{DOI}~") and decisions[-1].decision == "exclude"
    assert "carried from" in decisions[-1].note and "not a cohort" in decisions[-1].note
    # Carrying twice carries nothing more.
    assert (
        json.loads(cli("--review", root, "dedup", "--carry-decisions", "--json").out)["decisions_carried"]
        == 0
    )
    assert labels.read_bytes() == after


def test_a_decision_made_before_the_split_record_arrived_is_not_carried(
    review_with_erratum: Review, cli
) -> None:
    root = str(review_with_erratum.root)
    labels = review_with_erratum.labels_dir / "title-abstract" / "bob.csv"
    labels.parent.mkdir(parents=True, exist_ok=True)
    # Decided in 2001, long before either file was imported: it was made on the article alone.
    labels.write_text(
        "record_id,decision,reason,note,timestamp,version\n"
        f"doi:{DOI},include,,,2001-01-01T00:00:00.000+00:00,0.1.0\n"
    )
    result = cli("--review", root, "dedup", "--carry-decisions", "--json")
    assert result.code == 0 and json.loads(result.out)["decisions_carried"] == 0
    assert len(read_log(labels)) == 1


# -- import --remove: a wrongly imported file taken out, its provenance kept -----------------


def test_a_wrongly_imported_file_is_removed_with_its_provenance_kept(tmp_path: Path, cli) -> None:
    root = tmp_path / "review"
    assert cli("init", str(root), "--reviewer", "alice", "--reviewer", "bob").code == 0
    (tmp_path / "embase.ris").write_text(ris(ARTICLE, OTHER))
    (tmp_path / "again.ris").write_text(ris(ARTICLE, OTHER) + "\n")  # the same export, one more newline
    r = str(root)
    assert cli("import", str(tmp_path / "embase.ris"), "--search", "embase", "--review", r).code == 0
    assert (
        cli(
            "import", str(tmp_path / "again.ris"), "--search", "embase", "--allow-overlap", "--review", r
        ).code
        == 0
    )
    assert json.loads(cli("prisma", "--format", "json", "--review", r).out)["database_results"] == 4

    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    missing = cli("import", "--remove", "nothing.ris", "--review", r)
    assert missing.code == 2 and "no search lists a file 'nothing.ris'" in missing.err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before

    second = Review(root).search("embase").files[1].path  # named by its content: embase-<sha256[:8]>.ris
    assert second == f"embase-{hashlib.sha256((tmp_path / 'again.ris').read_bytes()).hexdigest()[:8]}.ris"
    removed = cli("import", "--remove", f"searches/{second}", "--reason", "imported twice", "--review", r)
    assert removed.code == 0, removed
    assert not (root / "searches" / second).exists()
    review = Review(root)
    search = review.search("embase")
    first = f"embase-{hashlib.sha256((tmp_path / 'embase.ris').read_bytes()).hexdigest()[:8]}.ris"
    assert [f.path for f in search.files] == [first]
    assert [(e["path"], e["reason"], e["records"]) for e in search.removed] == [
        (second, "imported twice", 2)
    ]
    assert search.removed[0]["sha256"] == hashlib.sha256((tmp_path / "again.ris").read_bytes()).hexdigest()
    assert search.removed[0]["removed"] and search.removed[0]["original_name"] == "again.ris"
    assert json.loads(cli("prisma", "--format", "json", "--review", r).out)["database_results"] == 2
    assert cli("check", "--review", r).code == 0
    # Its stored name is not given to the next file: provenance never names two files.
    assert (
        cli(
            "import", str(tmp_path / "again.ris"), "--search", "embase", "--allow-overlap", "--review", r
        ).code
        == 0
    )
    again = [f.path for f in Review(root).search("embase").files]
    assert again[0] == first and again[1] != second and len(again) == 2


# -- what an attack found ---------------------------------------------------------------------


def test_a_real_id_equal_to_a_split_id_neither_hangs_nor_collides() -> None:
    import threading

    from screener.dedup import split_id

    article = finalise(Record(search="embase", doi=DOI, title=TITLE, authors=["Hamont, D."], year=2010))
    erratum = finalise(Record(search="cochrane", doi=DOI, title=f"Erratum: {TITLE}", authors=["Hamont, D."]))
    # A crafted record whose DOI is the erratum's split id.
    crafted = finalise(Record(search="hostile", doi=split_id(erratum).removeprefix("doi:"), title="Other"))
    out: list = []
    worker = threading.Thread(
        target=lambda: out.append(deduplicate([article, erratum, crafted])), daemon=True
    )
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "deduplicate did not finish"
    ids = [r.id for r in out[0].records]
    assert len(set(ids)) == 3 and ids[2] == crafted.id  # the real id stays; the split id steps aside


def test_a_decision_made_after_the_split_is_never_carried(review_with_erratum: Review, cli) -> None:
    root = str(review_with_erratum.root)
    assert cli("label", f"doi:{DOI}", "exclude", "--reviewer", "alice", "--review", root).code == 0
    result = cli("--review", root, "dedup", "--carry-decisions", "--json")
    assert result.code == 0 and json.loads(result.out)["decisions_carried"] == 0


def test_a_doi_holding_a_tilde_is_no_split_id(tmp_path: Path, cli) -> None:
    root = tmp_path / "review"
    assert cli("init", str(root), "--reviewer", "alice").code == 0
    (tmp_path / "e.ris").write_text(
        ris({**OTHER, "DO": "10.1000/gut~2014"}, {**ARTICLE, "DO": "10.1000/gut"})
    )
    assert cli("import", str(tmp_path / "e.ris"), "--search", "embase", "--review", str(root)).code == 0
    assert cli("label", "doi:10.1000/gut", "exclude", "--reviewer", "alice", "--review", str(root)).code == 0
    result = json.loads(cli("--review", str(root), "dedup", "--carry-decisions", "--json").out)
    assert result["split_ids"] == [] and result["decisions_carried"] == 0


def test_decisions_on_split_ids_pass_check(review_with_erratum: Review, cli) -> None:
    root = str(review_with_erratum.root)
    split = json.loads(cli("--review", root, "dedup", "--json").out)["split_ids"][0]["split_id"]
    assert cli("label", split, "include", "--reviewer", "alice", "--review", root).code == 0
    result = cli("check", "--review", root)
    assert result.code == 0, result


def test_removing_the_article_leaves_the_erratum_its_own_id_and_decisions(
    review_with_erratum: Review, cli
) -> None:
    root = str(review_with_erratum.root)
    split = json.loads(cli("--review", root, "dedup", "--json").out)["split_ids"][0]["split_id"]
    assert (review_with_erratum.root / "labels" / "ids.csv").exists()  # recorded by the imports
    for reviewer in ("alice", "bob"):
        assert cli("label", f"doi:{DOI}", "exclude", "--reviewer", reviewer, "--review", root).code == 0
        assert cli("label", split, "include", "--reviewer", reviewer, "--review", root).code == 0
    assert cli("import", "--remove", "embase.ris", "--review", root).code == 0
    prisma = json.loads(cli("prisma", "--format", "json", "--review", root).out)
    assert prisma["records_excluded"] == 0  # the article's exclusion did not move to the erratum
    assert prisma["records_screened"] == 1
    from screener.screening import load_stage

    view = load_stage(Review(review_with_erratum.root), "title-abstract")
    assert [r.id for r in view.records] == [split] and view.final[split].decision == "include"
    checked = cli("check", "--review", root)
    assert checked.code == 1 and f"doi:{DOI}" in checked.out + checked.err  # the orphans are named


def test_an_export_spread_over_earlier_files_is_refused_as_a_repeat(tmp_path: Path, cli) -> None:
    root = tmp_path / "review"
    assert cli("init", str(root), "--reviewer", "alice").code == 0
    (tmp_path / "part1.ris").write_text(ris(ARTICLE))
    (tmp_path / "part2.ris").write_text(ris(OTHER))
    (tmp_path / "whole.ris").write_text(ris(ARTICLE, OTHER))
    r = str(root)
    assert (
        cli(
            "import", str(tmp_path / "part1.ris"), str(tmp_path / "part2.ris"), "--search", "e", "--review", r
        ).code
        == 0
    )
    refused = cli("import", str(tmp_path / "whole.ris"), "--search", "e", "--review", r)
    first, second = (f.path for f in Review(root).search("e").files)
    assert refused.code == 2 and f"searches/{first}, searches/{second}" in refused.err


def test_a_reason_that_is_not_text_is_refused_naming_the_option(review_with_erratum: Review, cli) -> None:
    root = str(review_with_erratum.root)
    before = (review_with_erratum.root / "searches" / "cochrane.toml").read_bytes()
    for reason in ("caf\udce9", "a\x1b[31mred"):
        result = cli("import", "--remove", "cochrane.ris", "--reason", reason, "--review", root)
        assert result.code == 2 and "--reason" in result.err
    assert (review_with_erratum.root / "searches" / "cochrane.toml").read_bytes() == before


def test_dedup_of_files_gives_split_ids_too(tmp_path: Path, cli) -> None:
    (tmp_path / "embase.ris").write_text(ris(ARTICLE, OTHER))
    (tmp_path / "cochrane.ris").write_text(ris(ERRATUM))
    out = tmp_path / "clusters.csv"
    args = ["dedup", "--input", str(tmp_path / "embase.ris"), "--input", str(tmp_path / "cochrane.ris")]
    assert cli(*args, "--output", str(out)).code == 0
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    ids = [row[0] for row in rows]
    assert len(set(ids)) == 3 and ids[0] == f"doi:{DOI}" and ids[2].startswith(f"doi:{DOI}~")
