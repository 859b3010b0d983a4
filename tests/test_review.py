"""The review directory: init, finding it, importing with provenance, status, the cache."""

from __future__ import annotations

import json
import re
import shutil
import tomllib

import pytest

from screener.review import Review

from .conftest import SAMPLES, stored_export


def test_init_writes_the_review(cli, tmp_path):
    result = cli(
        "init",
        str(tmp_path / "r"),
        "--title",
        "NET liver metastases",
        "--reviewer",
        "alice",
        "--reviewer",
        "bob",
        "--reviewer",
        "carol:resolver",
    )
    assert result.code == 0, result
    root = tmp_path / "r"
    config = tomllib.loads((root / "review.toml").read_text())
    assert config["title"] == "NET liver metastases"
    assert config["reviewers"] == [
        {"name": "alice", "role": "screener"},
        {"name": "bob", "role": "screener"},
        {"name": "carol", "role": "resolver"},
    ]
    assert config["stages"] == ["title-abstract", "full-text"]
    assert config["full_text"]["exclusion_reasons"]
    assert (root / "searches").is_dir() and (root / "labels" / "title-abstract").is_dir()
    assert ".screener/" in (root / ".gitignore").read_text()
    again = cli("init", str(root))
    assert again.code == 2 and "exists already" in again.err


def test_bad_role_is_refused(cli, tmp_path):
    cli("init", str(tmp_path / "r"))
    path = tmp_path / "r" / "review.toml"
    path.write_text(path.read_text().replace('role = "resolver"', 'role = "boss"'))
    result = cli("status", "--review", str(tmp_path / "r"))
    assert result.code == 2 and "review.toml" in result.err and "role" in result.err


def test_review_found_from_a_subfolder(cli, review):
    sub = review.root / "searches"
    result = cli("import", str(SAMPLES / "wos.ciw"), "--search", "wos", cwd=sub)
    assert result.code == 0, result
    assert stored_export(Review(review.root), "wos").exists()


def test_no_review_found(cli, tmp_path):
    result = cli("status", cwd=tmp_path)
    assert result.code == 2 and "screener init" in result.err


def test_import_keeps_raw_file_and_provenance(cli, review):
    source = SAMPLES / "embase.ris"
    result = cli(
        "import",
        str(source),
        "--search",
        "embase",
        "--database",
        "Embase",
        "--date-searched",
        "2012-09-30",
        "--query",
        "'neuroendocrine tumor'/exp",
        "--review",
        str(review.root),
    )
    assert result.code == 0, result
    stored = stored_export(Review(review.root), "embase")
    assert re.fullmatch(r"embase-[0-9a-f]{8}\.ris", stored.name), stored  # named by its content
    assert stored.read_bytes() == source.read_bytes()
    meta = tomllib.loads((review.searches_dir / "embase.toml").read_text())
    assert meta["database"] == "Embase"
    assert meta["date_searched"] == "2012-09-30"
    assert meta["query"] == "'neuroendocrine tumor'/exp"
    (entry,) = meta["files"]
    assert entry["records"] == 2 and entry["format"] == "ris"
    import hashlib

    assert entry["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert entry["original_name"] == "embase.ris"


def test_same_file_twice_adds_nothing(cli, review):
    args = ("import", str(SAMPLES / "medline.nbib"), "--search", "medline", "--review", str(review.root))
    assert cli(*args).code == 0
    before = sorted(p.name for p in review.searches_dir.iterdir())
    again = cli(*args)
    assert again.code == 0 and "nothing added" in again.out
    other_name = cli(
        "import", str(SAMPLES / "medline.nbib"), "--search", "pubmed2", "--review", str(review.root)
    )
    assert other_name.code == 0 and "already imported" in other_name.out
    assert sorted(p.name for p in review.searches_dir.iterdir()) == before
    assert len(review.records()) == 2


def test_several_files_in_one_search(cli, review):
    # A database export split in chunks (Ovid exports 1,000 records a file) is one search.
    result = cli(
        "import",
        str(SAMPLES / "embase.ris"),
        str(SAMPLES / "ovid.ris"),
        "--search",
        "ovid",
        "--database",
        "Ovid",
        "--json",
        "--review",
        str(review.root),
    )
    assert result.code == 0, result
    rows = json.loads(result.out)
    # Each file is named by its content: two clones importing into one search never clash.
    assert all(re.fullmatch(r"searches/ovid-[0-9a-f]{8}\.ris", row["stored_as"]) for row in rows), rows
    assert rows[0]["stored_as"] != rows[1]["stored_as"]
    search = review.search("ovid")
    assert search.record_count == 4 and len(search.files) == 2


def test_conflicting_provenance_refused(cli, review):
    cli(
        "import",
        str(SAMPLES / "embase.ris"),
        "--search",
        "embase",
        "--database",
        "Embase",
        "--review",
        str(review.root),
    )
    result = cli(
        "import",
        str(SAMPLES / "ovid.ris"),
        "--search",
        "embase",
        "--database",
        "MEDLINE",
        "--review",
        str(review.root),
    )
    assert result.code == 2 and "already has database" in result.err


def test_status_counts(cli, review):
    cli(
        "import",
        str(SAMPLES / "medline.nbib"),
        "--search",
        "medline",
        "--database",
        "MEDLINE",
        "--review",
        str(review.root),
    )
    cli(
        "import",
        str(SAMPLES / "embase.ris"),
        "--search",
        "embase",
        "--database",
        "Embase",
        "--review",
        str(review.root),
    )
    result = cli("status", "--json", "--review", str(review.root))
    info = json.loads(result.out)
    assert {s["name"]: s["records"] for s in info["searches"]} == {"embase": 2, "medline": 2}
    assert info["records_identified"] == 4
    text = cli("status", "--review", str(review.root))
    assert text.code == 0 and "medline" in text.out and "total" in text.out


def test_ids_stable_across_reimport_and_cache_rebuild(review):
    review.import_file(SAMPLES / "medline.nbib", "medline")
    review.import_file(SAMPLES / "wos.ciw", "wos")
    first = [r.to_dict() for r in review.records()]
    shutil.rmtree(review.cache_dir)
    rebuilt = [r.to_dict() for r in Review(review.root).records()]
    assert first == rebuilt
    # In a fresh review the same files give the same ids.
    assert {r["id"] for r in first} == {"pmid:16511671", "pmid:18345317", "pmid:16368504"}


def test_edited_raw_file_is_detected(cli, review):
    review.import_file(SAMPLES / "wos.ciw", "wos")
    shutil.rmtree(review.cache_dir)
    stored = stored_export(review, "wos")
    stored.write_text(stored.read_text().replace("PY 2006", "PY 2007"))
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and stored.name in result.err and "changed after it was imported" in result.err
    import pytest

    from screener.errors import ScreenerError

    with pytest.raises(ScreenerError, match="changed after it was imported"):
        Review(review.root).records()


def test_help_has_examples(cli):
    for command in (["init"], ["import"], ["status"], ["search", "pubmed"]):
        result = cli(*command, "--help")
        assert result.code == 0
        assert "Example" in result.out, command


@pytest.mark.parametrize("folder", ["searches", "labels/title-abstract", ".screener/x"])
def test_review_toml_planted_in_a_data_folder_is_not_a_review(cli, review, folder):
    """A review.toml a commit put in searches/ or labels/ is data: commands run there act on the
    review around it, and --review naming that folder says so."""
    review.import_file(SAMPLES / "embase.ris", "embase")
    planted = review.root / folder
    planted.mkdir(parents=True, exist_ok=True)
    shutil.copy(review.config_path, planted / "review.toml")
    status = cli("status", "--json", cwd=planted)
    assert status.code == 0, status
    assert json.loads(status.out)["records_identified"] == 2
    named = cli("status", "--review", str(planted))
    assert named.code == 2 and f"--review {review.root}" in named.err, named
    assert len(named.err.strip().splitlines()) == 1
