"""What only a merge of two clones' search files makes (attack helper, 2026-12-07): each is
refused or named before it counts, with what to do."""

from __future__ import annotations

import csv
import shutil
import tomllib
from pathlib import Path

import tomli_w

from screener.review import Review, Reviewer, init_review

from .conftest import SAMPLES


def _review(tmp_path: Path) -> Review:
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    review.import_file(SAMPLES / "medline.nbib", "medline", database="MEDLINE")
    review.import_file(SAMPLES / "ovid.ris", "medline", database="MEDLINE", allow_overlap=True)
    return review


def _edit(review: Review, search: str, change) -> None:  # noqa: ANN001 - a function of the TOML's data
    path = review.searches_dir / f"{search}.toml"
    data = tomllib.loads(path.read_text())
    change(data)
    path.write_text(tomli_w.dumps(data))


def test_a_file_both_listed_and_removed_is_refused(tmp_path, cli) -> None:
    """One clone removed a file, the other's lines kept its [[files]] entry: refused, where
    "restore the file from git" would have undone the removal silently."""
    review = _review(tmp_path)
    kept = review.search("medline").files[1].path
    shutil.copy(review.searches_dir / kept, tmp_path / "kept")
    root = str(review.root)
    assert cli("import", "--remove", f"searches/{kept}", "--reason", "dup", "--review", root).code == 0
    entry = tomllib.loads((review.searches_dir / "medline.toml").read_text())["removed"][0]
    listed = {k: v for k, v in entry.items() if k not in ("removed", "reason")}
    _edit(review, "medline", lambda d: d["files"].append(listed))
    shutil.copy(tmp_path / "kept", review.searches_dir / kept)
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and "is removed[0].path too (removed: dup)" in result.err, result
    assert "if the removal stands, delete this [[files]] entry" in result.err


def test_one_export_listed_twice_or_by_two_searches_is_named(tmp_path, cli) -> None:
    """The same export under two stored names, in one search (refused: counted twice) or in two
    searches (two clones importing one download under two names: check names both)."""
    review = _review(tmp_path)
    first = review.search("medline").files[0]
    copy = f"medline-{first.sha256[:8]}-copy.nbib"
    shutil.copy(review.searches_dir / first.path, review.searches_dir / copy)
    _edit(review, "medline", lambda d: d["files"].append({**d["files"][0], "path": copy}))
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and "files[2].sha256 is files[0].sha256 too" in result.err, result
    _edit(review, "medline", lambda d: d["files"].pop())
    other = tomllib.loads((review.searches_dir / "medline.toml").read_text())
    other["name"], other["files"] = "pubmed", [{**other["files"][0], "path": copy}]
    (review.searches_dir / "pubmed.toml").write_text(tomli_w.dumps(other))
    checked = cli("check", "--review", str(review.root))
    assert checked.code == 1 and f"searches/{first.path} and searches/{copy} are one export" in checked.out


def test_a_removed_export_back_in_the_folder_is_called_removed(tmp_path, cli) -> None:
    review = _review(tmp_path)
    gone = review.search("medline").files[1].path
    shutil.copy(review.searches_dir / gone, tmp_path / "gone")
    assert cli("import", "--remove", f"searches/{gone}", "--review", str(review.root)).code == 0
    shutil.copy(tmp_path / "gone", review.searches_dir / gone)
    checked = cli("check", "--review", str(review.root))
    assert f"searches/{gone}: an export search 'medline' removed" in checked.out, checked
    assert "another clone's" not in checked.out


def test_a_first_round_file_dated_by_a_merge_is_refused(tmp_path, cli) -> None:
    """Deleting git's markers of two clones' search files with one database leaves the other
    side's date_searched in this side's [[files]] entry: screener dates only an update's files."""
    review = _review(tmp_path)
    _edit(review, "medline", lambda d: d["files"][0].update(date_searched="2026-02-10"))
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and "files[0].date_searched dates a file of the search's first" in result.err


def test_a_diff3_conflict_marker_is_named_as_a_merge_conflict(tmp_path, cli) -> None:
    review = _review(tmp_path)
    path = review.searches_dir / "medline.toml"
    path.write_text(path.read_text() + "||||||| merged common ancestors\n")
    result = cli("status", "--review", str(review.root))
    assert result.code == 2 and "unresolved git merge conflict" in result.err and "|||||||" in result.err


def test_remove_by_a_name_two_files_answer_to_is_refused(tmp_path, cli) -> None:
    """An older screener stored `embase.csv`; a new download of that name is stored by content
    with original_name embase.csv: `--remove embase.csv` names both, and must not remove the
    old, screened export silently. searches/NAME names the stored file."""
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice")]))
    review.import_file(SAMPLES / "embase.ris", "embase", database="Embase")
    old = review.search("embase").files[0].path
    (review.searches_dir / old).rename(review.searches_dir / "embase.ris")  # as an older screener named it
    _edit(review, "embase", lambda d: d["files"][0].update(path="embase.ris"))
    download = tmp_path / "embase.ris"
    shutil.copy(SAMPLES / "ovid.ris", download)
    root = str(review.root)
    assert cli("import", str(download), "--search", "embase", "--allow-overlap", "--review", root).code == 0
    result = cli("import", "--remove", "embase.ris", "--review", str(review.root))
    assert result.code == 2 and "names 2 imported files" in result.err and "with searches/" in result.err
    assert len(Review(review.root).search("embase").files) == 2
    assert cli("import", "--remove", "searches/embase.ris", "--review", str(review.root)).code == 0
    assert [f.original_name for f in Review(review.root).search("embase").files] == ["embase.ris"]


def test_pairs_out_without_pairs_has_every_column(tmp_path, cli) -> None:
    review = Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice")]))
    review.import_file(SAMPLES / "wos.ciw", "wos", database="Web of Science")
    pairs = tmp_path / "pairs.csv"
    assert cli("--review", str(review.root), "dedup", "--pairs-out", str(pairs)).code == 0
    header = next(csv.reader(pairs.open()))
    assert header[:6] == ["id_1", "search_1", "file_1", "id_2", "search_2", "file_2"] and "title" in header


def test_a_search_name_leaves_room_for_its_files_names(tmp_path, cli) -> None:
    """Every stored export adds "-<sha256[:8]>" to its search's name (an update's file more): a
    name of 56 four-byte letters was valid, and then no import could store a file (attack
    helper). The name rule leaves room; the longest name it allows imports."""
    root = str(Review(init_review(tmp_path / "r", reviewers=[Reviewer("alice")])).root)
    refused = cli("import", str(SAMPLES / "wos.ciw"), "--search", "\U00020000" * 56, "--review", root)
    assert refused.code == 2 and "too long for a file name" in refused.err and "search name" in refused.err
    longest = "\U00020000" * 53  # 212 bytes: the most the rule allows
    result = cli("import", str(SAMPLES / "wos.ciw"), "--search", longest, "--review", root)
    assert result.code == 0, result
    update = cli("update", "--import", f"{longest}={SAMPLES / 'medline.nbib'}", "--review", root)
    assert update.code == 0, update
