"""Issue #13: nothing written outside the review, no decision lost, the cache never trusted,
and `screener check`. Real processes where it matters: concurrent writers, kill -9."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from screener.review import Review, init_review
from screener.screening.decisions import read_log, read_log_rows

from .conftest import SAMPLES, stored_export

SCREENER = [sys.executable, "-m", "screener.cli"]


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file and link under `folder`, with its content's hash (or the link's target)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "dir"
    return out


@pytest.fixture
def screened(tmp_path: Path, cli) -> Review:
    """A review in tmp/outer/review with two screeners, a MEDLINE search, and a sentinel
    folder beside it that must never change."""
    outer = tmp_path / "outer"
    (outer / "sentinel").mkdir(parents=True)
    (outer / "sentinel" / "keep.txt").write_text("untouched\n")
    root = outer / "review"
    assert (
        cli(
            "init", str(root), "--reviewer", "alice", "--reviewer", "bob", "--reviewer", "carol:resolver"
        ).code
        == 0
    )
    result = cli("import", str(SAMPLES / "medline.nbib"), "--search", "medline", "--review", str(root))
    assert result.code == 0, result
    return Review(root)


def outside(review: Review) -> dict[str, str]:
    """Everything in the review's parent folder except the review itself."""
    return {k: v for k, v in tree_digest(review.root.parent).items() if not k.startswith("review")}


def ids(review: Review) -> list[str]:
    return [r.id for r in review.records()]


# -- decision files -----------------------------------------------------------------------


def test_append_after_a_last_line_without_newline_keeps_both(screened: Review, cli) -> None:
    first, second = ids(screened)[:2]
    path = screened.root / "labels" / "title-abstract" / "alice.csv"
    path.write_text(f"record_id,decision,reason,note,timestamp,version\n{first},include,,,2026-01-01,0.1.0")
    result = cli("label", "--reviewer", "alice", second, "exclude", "--review", str(screened.root))
    assert result.code == 0, result
    assert [(d.record_id, d.decision) for d in read_log(path)] == [(first, "include"), (second, "exclude")]


def test_a_line_cut_by_a_crash_is_skipped_and_never_glued_onto(screened: Review, cli) -> None:
    first, second = ids(screened)[:2]
    path = screened.root / "labels" / "title-abstract" / "alice.csv"
    path.write_text(f"record_id,decision,reason,note,timestamp,version\n{first},incl")
    decisions, skipped = read_log_rows(path)
    assert decisions == [] and len(skipped) == 1 and ":2:" in skipped[0]
    result = cli("status", "--review", str(screened.root))
    assert result.code == 0 and "1 lines cut by an interrupted write" in result.out
    assert cli("label", "--reviewer", "alice", second, "include", "--review", str(screened.root)).code == 0
    decisions, skipped = read_log_rows(path)
    assert [(d.record_id, d.decision) for d in decisions] == [(second, "include")]
    assert len(skipped) == 1
    # The cut line is still there, unchanged: the file is only ever appended to.
    assert path.read_text().splitlines()[1] == f"{first},incl"


def test_label_refuses_a_symlinked_labels_file_and_writes_nothing_outside(screened: Review, cli) -> None:
    target = screened.root.parent / "sentinel" / "keep.txt"
    before = outside(screened)
    link = screened.root / "labels" / "title-abstract" / "alice.csv"
    link.symlink_to(target)
    result = cli("label", "--reviewer", "alice", ids(screened)[0], "include", "--review", str(screened.root))
    assert result.code == 2 and "symbolic link" in result.err and result.err.count("\n") == 1
    assert target.read_text() == "untouched\n"
    assert outside(screened) == before


def test_label_refuses_a_symlinked_stage_folder(screened: Review, cli) -> None:
    elsewhere = screened.root.parent / "sentinel" / "stage"
    elsewhere.mkdir()
    stage = screened.root / "labels" / "title-abstract"
    stage.rmdir()
    stage.symlink_to(elsewhere, target_is_directory=True)
    result = cli("label", "--reviewer", "alice", ids(screened)[0], "include", "--review", str(screened.root))
    assert result.code == 2 and "symbolic link" in result.err
    assert list(elsewhere.iterdir()) == []


def test_a_reviewer_name_in_review_toml_cannot_become_a_path(screened: Review, cli) -> None:
    before = outside(screened)
    config = screened.config_path.read_text().replace('name = "alice"', 'name = "../../escaped"')
    screened.config_path.write_text(config)
    result = cli(
        "label", "--reviewer", "../../escaped", ids(screened)[0], "include", "--review", str(screened.root)
    )
    assert result.code == 2 and "reviewer" in result.err and result.err.count("\n") == 1
    assert outside(screened) == before
    assert not (screened.root.parent.parent / "escaped.csv").exists()


def test_concurrent_labellers_write_one_header_and_every_line(screened: Review) -> None:
    """Several processes append to one new decision file at once, many rounds each."""
    path = screened.root / "labels" / "title-abstract" / "alice.csv"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from screener.screening.decisions import DecisionLog\n"
        "log = DecisionLog(Path(sys.argv[1]))\n"
        "for i in range(60):\n"
        "    log.append(f'{sys.argv[2]}:{i}', 'include', note='x' * (i * 37 % 3000))\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(path), f"w{n}"]) for n in range(4)]
    assert all(w.wait(timeout=120) == 0 for w in workers)
    lines = path.read_text().splitlines()
    assert lines.count("record_id,decision,reason,note,timestamp,version,tags") == 1
    decisions = read_log(path)
    assert len(decisions) == 240
    assert {d.record_id for d in decisions} == {f"w{n}:{i}" for n in range(4) for i in range(60)}


def test_kill_9_during_label_import_leaves_all_or_nothing(screened: Review, tmp_path: Path) -> None:
    """The import is one write: killed at any moment, the file holds none or all of it."""
    record_ids = ids(screened)
    table = tmp_path / "decisions.csv"
    table.write_text("record_id,decision\n" + "".join(f"{rid},include\n" for rid in record_ids * 2000))
    path = screened.root / "labels" / "title-abstract" / "bob.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    for delay in (0.2, 0.6, 1.0, 1.6, 2.5):
        before = len(read_log(path))
        process = subprocess.Popen(
            [*SCREENER, "label", "--reviewer", "bob", "--import", str(table), "--review", str(screened.root)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        decisions, skipped = read_log_rows(path)
        assert skipped == []
        assert len(decisions) - before in (0, len(record_ids) * 2000)


# -- label --import ----------------------------------------------------------------------


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("record_id,decision\npmid:1,include\n", "0 of 1 ids matched"),
        ("record_id,decision\n,include\n", "has no record id"),
        ("record_id,decision\n{0}\n", "has 1 cells"),
        ("record_id,decision\n{0},perhaps\n", "unknown decision 'perhaps'"),
        ("id;title\n{0};x\n", "needs a record_id column and a decision column"),
        ("record_id,decision\n", "holds no decisions"),
        ("record_id,decision\n{0},include\n{0},include\n{0},exclude\n", "the decision 'exclude', but line 2"),
        ("record_id,decision,note\n{0},include,a\n{0},include,b\n", "the note 'b', but line 2 gives it 'a'"),
    ],
    ids=[
        "unknown id",
        "empty id",
        "short row",
        "unknown word",
        "no decision column",
        "header only",
        "two decisions",
        "two notes",
    ],
)
def test_label_import_refuses_a_bad_file_and_writes_nothing(
    screened: Review, cli, tmp_path: Path, text: str, message: str
) -> None:
    table = write(tmp_path / "in.csv", text.format(ids(screened)[0]))
    path = screened.root / "labels" / "title-abstract" / "alice.csv"
    result = cli("label", "--reviewer", "alice", "--import", str(table), "--review", str(screened.root))
    assert result.code == 2 and message in result.err, result
    assert str(table) in result.err and result.err.count("\n") == 1
    assert not path.exists()


def test_label_import_reports_matches_and_skips_unknown_only_when_asked(
    screened: Review, cli, tmp_path: Path
) -> None:
    first, second = ids(screened)[:2]
    # Excel's BOM, semicolons and Windows-1252 (é) as spreadsheets save them.
    table = write(
        tmp_path / "in.csv",
        f"\ufeffRecord_ID;Decision;Note\n{first};Yes;café\n{second};no;\npmid:999;yes;\n",
        "utf-8",
    )
    root = str(screened.root)
    refused = cli("label", "--reviewer", "alice", "--import", str(table), "--review", root)
    assert refused.code == 2 and "2 of 3 ids matched" in refused.err and "pmid:999" in refused.err
    done = cli("label", "--reviewer", "alice", "--import", str(table), "--skip-unknown", "--review", root)
    assert done.code == 0 and "2 of 3 ids matched; 1 not in the review, skipped" in done.out
    decisions = read_log(screened.root / "labels" / "title-abstract" / "alice.csv")
    assert [(d.record_id, d.decision, d.note) for d in decisions] == [
        (first, "include", "café"),
        (second, "exclude", ""),
    ]
    latin = write(tmp_path / "latin.csv", f"record_id,decision,note\n{first},maybe,déjà vu\n", "cp1252")
    assert cli("label", "--reviewer", "bob", "--import", str(latin), "--review", root).code == 0
    assert read_log(screened.root / "labels" / "title-abstract" / "bob.csv")[0].note == "déjà vu"


def test_status_counts_decisions_on_ids_not_in_the_review(screened: Review, cli) -> None:
    path = screened.root / "labels" / "title-abstract" / "alice.csv"
    path.write_text("record_id,decision\npmid:424242,include\n")
    result = cli("status", "--review", str(screened.root))
    assert result.code == 0 and "1 decisions point at ids that are not in the review" in result.out
    result = cli("conflicts", "--review", str(screened.root))
    assert result.code == 0 and "pmid:424242" in result.err


# -- imports ------------------------------------------------------------------------------


def test_concurrent_imports_into_one_search_keep_every_file(tmp_path: Path) -> None:
    root = init_review(tmp_path / "review")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    files = [SAMPLES / name for name in ("embase.ris", "ovid.ris", "cochrane.ris")]
    workers = [
        subprocess.Popen(
            [*SCREENER, "import", str(f), "--search", "shared", "--review", str(root)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for f in files
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read()
    search = Review(root).search("shared")
    assert search is not None
    assert sorted(f.original_name for f in search.files) == sorted(f.name for f in files)
    assert len({f.path for f in search.files}) == 3


def test_kill_9_during_import_leaves_nothing_a_later_import_trips_over(tmp_path: Path, cli) -> None:
    root = init_review(tmp_path / "review")
    big = tmp_path / "big.nbib"
    record = (SAMPLES / "medline.nbib").read_text().split("\n\n")[0]
    big.write_text("\n\n".join(record.replace("16511671", str(10_000_000 + i)) for i in range(6000)) + "\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    for delay in (0.5, 1.5, 3.0):
        process = subprocess.Popen(
            [*SCREENER, "import", str(big), "--search", "medline", "--review", str(root)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert cli("status", "--review", str(root)).code == 0
    result = cli("import", str(big), "--search", "medline", "--review", str(root))
    assert result.code == 0, result
    assert cli("status", "--review", str(root)).code == 0
    assert len(Review(root).records()) == 6000


# -- the cache ----------------------------------------------------------------------------


def test_the_cache_lives_outside_the_review_and_a_planted_one_changes_nothing(screened: Review, cli) -> None:
    assert not screened.cache_dir.is_relative_to(screened.root)
    before = cli("--review", str(screened.root), "prisma", "--format", "json")
    assert before.code == 0 and '"duplicates": 0' in before.out
    # What an attacker could commit: cache files in the folder earlier versions read.
    planted = screened.root / ".screener" / "dedup"
    planted.mkdir(parents=True)
    forged = marshal.dumps(
        {"cluster_of": [0] * 2, "pairs": [], "seconds": 0.0, "compared": 0, "candidates": 0}
    )
    for name in ("a" * 32, "0" * 32):
        (planted / f"{name}.marshal").write_bytes(forged)
    (screened.root / ".screener" / "records").mkdir()
    after = cli("--review", str(screened.root), "prisma", "--format", "json")
    assert after.code == 0 and after.out == before.out


def test_a_raw_export_edited_after_import_is_refused_even_with_a_warm_cache(screened: Review, cli) -> None:
    assert cli("status", "--review", str(screened.root)).code == 0  # the cache is warm now
    raw = stored_export(screened, "medline")
    raw.write_text(raw.read_text().replace("Improved outcome", "Worse outcome"))
    result = cli("status", "--review", str(screened.root))
    assert result.code == 2 and "was changed after it was imported" in result.err


def test_a_record_count_in_the_provenance_that_the_file_does_not_hold_is_refused(
    screened: Review, cli
) -> None:
    toml = screened.root / "searches" / "medline.toml"
    toml.write_text(toml.read_text().replace("records = 2", "records = 2000"))
    result = cli("status", "--review", str(screened.root))
    assert result.code == 2 and "holds 2" in result.err and "medline.toml" in result.err


# -- screener check -----------------------------------------------------------------------


def test_check_passes_a_sound_review_and_lists_open_work(screened: Review, cli) -> None:
    result = cli("check", "--review", str(screened.root))
    assert result.code == 0, result
    assert "OK: 1 raw files verified" in result.out
    assert "title-abstract: 2 of 2 records still need alice's vote" in result.out


@pytest.mark.parametrize(
    "damage", ["edited export", "orphan export", "symlink", "unknown id", "bad label line"]
)
def test_check_fails_a_corrupt_review(screened: Review, cli, damage: str) -> None:
    searches, labels = screened.root / "searches", screened.root / "labels" / "title-abstract"
    if damage == "edited export":
        raw = stored_export(screened, "medline")
        raw.write_bytes(raw.read_bytes() + b"\n")
    elif damage == "orphan export":
        (searches / "left-behind.ris").write_text("TY  - JOUR\nTI  - x\nER  - \n")
    elif damage == "symlink":
        (searches / "extra.ris").symlink_to(screened.root.parent / "sentinel" / "keep.txt")
    elif damage == "unknown id":
        (labels / "alice.csv").write_text("record_id,decision\npmid:424242,include\n")
    else:
        (labels / "bob.csv").write_text("record_id,decision\npmid:1,include\npmid:2,yes please\n")
    result = cli("check", "--review", str(screened.root))
    assert result.code == 1 and "problem:" in result.out, result
    assert "Traceback" not in result.err


def test_an_output_that_is_a_device_or_pipe_is_written_to_never_replaced(
    screened: Review, cli, tmp_path
) -> None:
    """`-o /dev/null` must not turn the device into a plain file: tried here on a FIFO."""
    import stat
    import threading

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = cli(
        "export",
        "--stage",
        "title-abstract",
        "--decision",
        "all",
        "--format",
        "csv",
        "-o",
        str(fifo),
        "--review",
        str(screened.root),
    )
    reader.join(timeout=30)
    assert result.code == 0, result
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received and received[0].startswith(b"study_id,decision")


def test_a_decision_on_an_id_not_in_the_review_can_be_taken_back(screened: Review, cli) -> None:
    """What 'screener check' tells you to do about a typo'd id works, and clears the problem."""
    path = screened.root / "labels" / "title-abstract" / "alice.csv"
    path.write_text("record_id,decision\npmid:424242,include\n")
    assert cli("check", "--review", str(screened.root)).code == 1
    root = str(screened.root)
    assert cli("label", "--reviewer", "alice", "pmid:999999", "undecided", "--review", root).code == 2
    assert cli("label", "--reviewer", "alice", "pmid:424242", "undecided", "--review", root).code == 0
    assert cli("check", "--review", root).code == 0
    assert "point at ids" not in cli("status", "--review", root).out


def test_label_import_takes_bare_and_upper_case_pmids_and_notes_lose_control_characters(
    screened: Review, cli, tmp_path: Path
) -> None:
    first, second = ids(screened)[:2]  # both pmid:...
    table = tmp_path / "other-tool.csv"
    table.write_text(f"id,decision,note\n{first[5:]},include,\x1b[31mred\nPMID:{second[5:]},exclude,\n")
    result = cli("label", "--reviewer", "alice", "--import", str(table), "--review", str(screened.root))
    assert result.code == 0 and "2 of 2 ids matched" in result.out, result
    decisions = read_log(screened.root / "labels" / "title-abstract" / "alice.csv")
    assert [(d.record_id, d.decision) for d in decisions] == [(first, "include"), (second, "exclude")]
    assert decisions[0].note == " [31mred"


# -- from an attack on the tool ---------------------------------------------------------


def test_append_opens_each_folder_without_following_links(screened: Review, tmp_path: Path) -> None:
    """No check-then-open: the append itself refuses a stage folder that is a symlink (as if it
    were swapped in after every earlier check), and a hard-linked decision file."""
    from screener.errors import ScreenerError
    from screener.screening.decisions import DecisionLog

    elsewhere = screened.root.parent / "sentinel" / "stage"
    elsewhere.mkdir()
    stage = screened.root / "labels" / "title-abstract"
    stage.rmdir()
    stage.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ScreenerError, match="symbolic link"):
        DecisionLog(stage / "alice.csv").append("pmid:1", "include")
    assert list(elsewhere.iterdir()) == []
    stage.unlink()
    stage.mkdir()
    victim = screened.root.parent / "sentinel" / "victim.csv"
    victim.write_text("record_id,decision\n")
    os.link(victim, stage / "alice.csv")
    with pytest.raises(ScreenerError, match="hard link"):
        DecisionLog(stage / "alice.csv").append("pmid:1", "include")
    assert victim.read_text() == "record_id,decision\n"


def test_a_table_id_cannot_take_a_pubmed_id_and_control_characters_never_reach_the_records(
    screened: Review, cli, tmp_path: Path
) -> None:
    forged = tmp_path / "forged.csv"
    forged.write_text(
        f"title,abstract,key\nEvil \x1b]0;PWNED\x07title \u202eoverride,abs,{ids(screened)[0]}\n"
    )
    assert cli("import", str(forged), "--search", "tricky", "--review", str(screened.root)).code == 0
    record = next(r for r in screened.records() if r.search == "tricky")
    assert record.id == f"tricky:{ids(screened)[0]}"  # its own record, not the PubMed one
    assert record.title.isprintable() and "PWNED" in record.title and "\u202e" not in record.title


def test_an_xlsx_that_unpacks_to_far_more_than_an_export_is_refused(
    screened: Review, cli, tmp_path: Path
) -> None:
    import zipfile

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 << 20))  # 40 MB of nothing: ~40 KB
    assert bomb.stat().st_size < 1 << 20
    result = cli("import", str(bomb), "--search", "bomb", "--review", str(screened.root))
    assert result.code == 2 and "unpacks to" in result.err
    assert not (screened.root / "searches" / "bomb.toml").exists()


def test_a_raw_file_listed_by_two_searches_and_case_clashing_names_are_refused(
    screened: Review, cli, tmp_path: Path
) -> None:
    root = str(screened.root)
    result = cli("import", str(SAMPLES / "ovid.ris"), "--search", "Medline", "--review", root)
    assert result.code == 2 and "only in case" in result.err
    assert cli("import", str(SAMPLES / "ovid.ris"), "--search", "ovid", "--review", root).code == 0
    ovid = screened.root / "searches" / "ovid.toml"
    ovid_file, medline_file = screened.search("ovid").files[0].path, screened.search("medline").files[0].path
    ovid.write_text(ovid.read_text().replace(f'path = "{ovid_file}"', f'path = "{medline_file}"'))
    result = cli("status", "--review", root)
    assert result.code == 2 and "listed by search 'medline' too" in result.err


def test_a_refused_init_makes_no_folder(cli, tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "new"), "--reviewer", "alice", "--reviewer", "Alice")
    assert result.code == 2 and not (tmp_path / "new").exists()


def test_an_import_refuses_a_searches_folder_swapped_for_a_link(screened: Review, tmp_path: Path) -> None:
    """The raw file and the toml are written relative to searches/ opened without following
    links: a searches/ replaced by a symlink after every check writes nothing outside."""
    from screener.errors import ScreenerError
    from screener.names import atomic_write_beneath

    elsewhere = screened.root.parent / "sentinel" / "searches"
    elsewhere.mkdir()
    searches = screened.root / "searches"
    searches.rename(screened.root / "searches-real")
    searches.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ScreenerError, match="symbolic link"):
        atomic_write_beneath(searches / "new.ris", b"TY  - JOUR\nER  - \n")
    assert list(elsewhere.iterdir()) == []


def test_decisions_on_copies_merged_later_are_reported_not_lost_silently(screened: Review, cli) -> None:
    """A `same` pair decided after screening merges two records a reviewer decided differently:
    the latest counts, and conflicts and check say so."""
    first, second = ids(screened)[:2]
    root = str(screened.root)
    assert cli("label", "--reviewer", "alice", first, "include", "--review", root).code == 0
    assert cli("label", "--reviewer", "alice", second, "exclude", "--review", root).code == 0
    (screened.root / "labels" / "dedup.csv").write_text(
        f"record_id_1,record_id_2,decision,reviewer,timestamp,version\n{first},{second},same,x,,\n"
    )
    result = cli("conflicts", "--review", root)
    assert result.code == 0 and "alice decided differently on copies of 1" in result.err
    checked = cli("check", "--review", root)
    assert checked.code == 0 and "alice decided differently on copies of 1 studies" in checked.out


def test_the_same_export_under_another_name_is_refused_unless_allowed(
    screened: Review, cli, tmp_path: Path
) -> None:
    again = tmp_path / "medline-again.nbib"
    again.write_bytes((SAMPLES / "medline.nbib").read_bytes() + b"\n")  # one newline: another sha256
    root = str(screened.root)
    result = cli("import", str(again), "--search", "medline", "--review", root)
    assert result.code == 2 and "2 of its 2 records are already in search 'medline'" in result.err
    stored = screened.search("medline").files[0].path
    assert f"searches/{stored}" in result.err and len(Review(root).search("medline").files) == 1
    same = cli("import", str(SAMPLES / "medline.nbib"), "--search", "medline", "--review", root)
    assert same.code == 0 and "nothing added" in same.out
    allowed = cli("import", str(again), "--search", "medline", "--allow-overlap", "--review", root)
    assert allowed.code == 0 and len(Review(root).search("medline").files) == 2


def test_output_in_a_narrow_encoding_and_a_reader_that_stops_early(screened: Review) -> None:
    """PYTHONIOENCODING=ascii shows replacements instead of failing; `| head -1` ends quietly."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "PYTHONIOENCODING": "ascii"}
    config = screened.config_path.read_text().replace(
        'title = "Untitled systematic review"', 'title = "Résumé → x"'
    )
    screened.config_path.write_text(config)
    for args in (["status"], ["prisma"], ["agreement"]):
        done = subprocess.run(
            [*SCREENER, *args, "--review", str(screened.root)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr and "internal error" not in done.stderr
    env.pop("PYTHONIOENCODING")
    many = screened.root.parent / "many.ris"
    many.write_text(
        "".join(
            f"TY  - JOUR\nTI  - Record number {i} about livers\nAU  - A, B\nER  - \n\n" for i in range(3000)
        )
    )
    assert (
        subprocess.run(
            [*SCREENER, "import", str(many), "--search", "many", "--review", str(screened.root)], env=env
        ).returncode
        == 0
    )
    reader = subprocess.Popen(
        # A long rich table: rich, not click, meets the closed pipe.
        [*SCREENER, "--review", str(screened.root), "rank", "--reviewer", "alice", "--top", "3000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    reader.stdout.readline()
    reader.stdout.close()  # like `| head -1`
    assert reader.wait(timeout=120) == 0
    assert b"Traceback" not in reader.stderr.read()


def test_an_export_whose_line_endings_git_converted_says_so(screened: Review, cli) -> None:
    assert ".gitattributes" in os.listdir(screened.root)
    assert "searches/** -text" in (screened.root / ".gitattributes").read_text()
    raw = stored_export(screened, "medline")
    raw.write_bytes(raw.read_bytes().replace(b"\n", b"\r\n"))  # what core.autocrlf=true checks out
    result = cli("status", "--review", str(screened.root))
    assert result.code == 2 and "git converted them" in result.err and "searches/** -text" in result.err


def test_a_decision_file_named_in_another_unicode_form_is_not_silently_ignored(cli, tmp_path: Path) -> None:
    import unicodedata

    root = tmp_path / "review"
    assert cli("init", str(root), "--reviewer", "zoë", "--reviewer", "bob").code == 0
    assert (
        cli("import", str(SAMPLES / "medline.nbib"), "--search", "medline", "--review", str(root)).code == 0
    )
    record = Review(root).records()[0].id
    assert cli("label", "--reviewer", "zoë", record, "include", "--review", str(root)).code == 0
    stage = root / "labels" / "title-abstract"
    (stage / "zoë.csv").rename(stage / unicodedata.normalize("NFD", "zoë.csv"))  # as macOS may commit it
    result = cli("status", "--review", str(root))
    assert result.code == 2 and "another Unicode form" in result.err and "git mv" in result.err
    checked = cli("check", "--review", str(root))
    assert checked.code == 1 and "rename" in checked.out and "delete it" not in checked.out


# -- a search's provenance edited by hand ---------------------------------------------------


def test_a_stored_files_format_edited_by_hand_is_refused_not_read_as_junk(screened: Review, cli) -> None:
    """searches/<name>.toml's format changed by hand: read so, the file would give other ids
    (a RIS file read as MEDLINE kept its count and lost every id, and every decision with
    them). Every command refuses, naming the key, and the decisions are untouched."""
    root = str(screened.root)
    first = ids(screened)[0]
    assert cli("label", "--reviewer", "alice", first, "include", "--review", root).code == 0
    toml = screened.root / "searches" / "medline.toml"
    toml.write_text(toml.read_text().replace('format = "medline"', 'format = "ris"'))
    before = tree_digest(screened.root)
    for command in (["status"], ["prisma", "--format", "json"], ["export", "--format", "csv"], ["check"]):
        result = cli(*command, "--review", root)
        said = result.out if command == ["check"] else result.err  # check lists problems, exit 1
        assert result.code == (1 if command == ["check"] else 2), (command, result)
        assert "medline.toml" in said and "files[0].format is 'ris'" in said, said
        assert "starts as a medline export" in said and "Traceback" not in result.err + result.out
    assert tree_digest(screened.root) == before
    toml.write_text(toml.read_text().replace('format = "ris"', 'format = "medline"'))
    assert cli("status", "--review", root).code == 0
    assert [d.record_id for d in read_log(screened.labels_dir / "title-abstract" / "alice.csv")] == [first]


@pytest.mark.parametrize(
    ("sample", "wrong"),
    [("medline.nbib", "ris"), ("embase.ris", "medline"), ("wos.ciw", "csv"), ("embase.ris", "excel")],
)
def test_import_refuses_a_format_the_file_does_not_start_as(screened: Review, cli, sample, wrong) -> None:
    """--format names a format the file's first lines deny: refused, nothing written."""
    before = tree_digest(screened.root)
    result = cli(
        "import",
        str(SAMPLES / sample),
        "--search",
        "other",
        "--format",
        wrong,
        "--review",
        str(screened.root),
    )
    assert result.code == 2 and f"not {wrong}" in result.err and "drop --format" in result.err, result
    assert tree_digest(screened.root) == before


@pytest.mark.parametrize("kind", ["folder", "fifo", "broken link"])
def test_a_review_toml_that_is_no_file_is_named_so(tmp_path: Path, cli, kind: str) -> None:
    """review.toml as a folder, a FIFO or a broken link: named for what it is (with --review
    and from inside the folder), not reported missing."""
    folder = tmp_path / "r"
    folder.mkdir()
    path = folder / "review.toml"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(tmp_path / "nowhere")
    said = {"folder": "a folder", "fifo": "a special file", "broken link": "a broken link"}[kind]
    result = cli("status", "--review", str(folder))
    assert result.code == 2 and f"review.toml: is {said}" in result.err, result
    (folder / "searches").mkdir()
    inside = subprocess.run(
        [*SCREENER, "status"],
        cwd=folder / "searches",  # from a folder below the review's too
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert inside.returncode == 2 and f"review.toml: is {said}" in inside.stderr, inside.stderr


# -- column names read by generation -----------------------------------------------------------


def test_a_table_imported_before_column_generations_keeps_its_ids(cli, tmp_path: Path) -> None:
    """A table whose PubMed ids sit in a one-word column ("pubmedID", as the Cohen 2006 tables
    and ASReview's exports write it) is read with those ids now; a table imported before
    (its provenance has no `columns`) is read as it was, so its records keep their ids and
    their decisions; a generation from a newer screener is refused, naming the key."""
    table = write(
        tmp_path / "cohen.csv",
        "record_id,title,abstract,pubmedID,label_included\n"
        "1,Beta blockers after infarction,Trial.,10071953,1\n"
        "2,Statins in the elderly,Cohort.,10084620,0\n",
    )
    root = tmp_path / "r"
    assert cli("init", str(root), "--reviewer", "alice", "--reviewer", "bob").code == 0
    assert cli("import", str(table), "--search", "cohen", "--review", str(root)).code == 0
    review = Review(root)
    assert ids(review) == ["pmid:10071953", "pmid:10084620"]
    toml = root / "searches" / "cohen.toml"
    assert "columns = 2" in toml.read_text()
    # The same table as an earlier screener stored it: no `columns`, ids from the id column.
    old = root.parent / "old"
    assert cli("init", str(old), "--reviewer", "alice", "--reviewer", "bob").code == 0
    assert cli("import", str(table), "--search", "cohen", "--review", str(old)).code == 0
    old_toml = old / "searches" / "cohen.toml"
    old_toml.write_text(old_toml.read_text().replace("columns = 2\n", ""))
    earlier = ids(Review(old))
    assert earlier == ["cohen:1", "cohen:2"], earlier
    assert cli("label", "--reviewer", "alice", "cohen:1", "include", "--review", str(old)).code == 0
    # check names the column the table's generation leaves unread, and where `columns` goes
    # (a git merge that kept that line once, after the markers, drops it from one entry).
    checked = cli("check", "--review", str(old))
    stored = Review(old).search("cohen").files[0].path
    assert f"{stored}: read as at its import, its column(s) pubmedID are not read" in checked.out, checked
    assert "no `columns = 2`" in checked.out and "searches/cohen.toml" in checked.out
    assert "pubmedID" not in cli("check", "--review", str(root)).out
    status = json.loads(cli("status", "--json", "--review", str(old)).out)
    assert status["stages"][0]["reviewers"]["alice"]["screened"] == 1, status
    # A generation this screener does not know.
    toml.write_text(toml.read_text().replace("columns = 2", "columns = 9"))
    refused = cli("status", "--review", str(root))
    assert refused.code == 2 and "files[0].columns is 9" in refused.err and "newer screener" in refused.err


def test_a_stray_export_in_searches_is_adopted_where_it_lies(screened: Review, cli) -> None:
    """An export in searches/ that no search lists (a merge resolved by keeping one side of a
    search's provenance leaves one): `check` says to import it again, and doing so lists it
    under its own name, with no second copy beside it (second attack helper)."""
    root = str(screened.root)
    stray = screened.searches_dir / "embase-1c0ffee5.ris"
    stray.write_bytes((SAMPLES / "embase.ris").read_bytes())
    assert cli("check", "--review", root).code == 1
    result = cli("import", str(stray), "--search", "embase", "--review", root)
    assert result.code == 0, result
    assert [f.path for f in Review(root).search("embase").files] == ["embase-1c0ffee5.ris"]
    assert sorted(p.name for p in screened.searches_dir.glob("embase*")) == [
        "embase-1c0ffee5.ris",
        "embase.toml",
    ]
    assert cli("check", "--review", root).code == 0


def test_every_later_file_of_a_search_is_named_by_its_content(screened: Review, cli) -> None:
    """A search's second file in another format is named by content too, not `<search>.ris`
    beside the first `<search>.nbib`: two clones doing so stored one name, and git wrote
    conflict markers into a raw export (new-user helper)."""
    root = str(screened.root)
    result = cli("import", str(SAMPLES / "embase.ris"), "--search", "medline", "--review", root)
    assert result.code == 0, result
    digest = hashlib.sha256((SAMPLES / "embase.ris").read_bytes()).hexdigest()[:8]
    first = screened.search("medline").files[0].path
    assert first.startswith("medline-") and first.endswith(".nbib")
    assert [f.path for f in Review(root).search("medline").files] == [first, f"medline-{digest}.ris"]


def test_a_file_entry_without_its_import_time_is_warned_of(screened: Review, cli) -> None:
    """A [[files]] entry that lost its `imported` line (a merge conflict resolved by hand) would
    be counted as there before screening began, silently: check says so (attack helper)."""
    toml = screened.root / "searches" / "medline.toml"
    lines = toml.read_text().splitlines(True)
    toml.write_text("".join(line for line in lines if not line.startswith("imported")))
    checked = cli("check", "--review", str(screened.root))
    assert checked.code == 0 and "files[0] has no `imported` time" in checked.out, checked
    assert "restore the line from git" in checked.out
