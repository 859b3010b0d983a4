"""Issue #15, optional allocation: every record gets its votes from a balanced share of the pool,
deterministic from ids and names, stable when records arrive or screeners join and leave, and
the allocation file checked like every file of a review."""

from __future__ import annotations

import json
import random
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from screener.check import check_review
from screener.errors import ScreenerError
from screener.review import Review, Reviewer, init_review
from screener.screening import load_stage
from screener.screening.allocate import allocate, allocation_path, screen_records
from screener.screening.decisions import DecisionLog, decision_path

TA = "title-abstract"
WORDS = (
    "liver kidney heart lung brain bone skin blood nerve gut muscle tumour fibrosis insulin statin "
    "vaccine malaria asthma stroke sepsis dementia obesity anaemia psoriasis migraine glaucoma cohort "
    "trial placebo surgery resection infusion dialysis biopsy screening therapy outcome mortality"
).split()


def records_csv(path: Path, start: int, count: int) -> Path:
    """A CSV export of `count` unrelated records, PMIDs start.. (titles far apart: no duplicates)."""
    rng = random.Random(start)
    lines = ["PMID,title,abstract,authors,year"]
    for pmid in range(start, start + count):
        title = " ".join(rng.sample(WORDS, 8)).capitalize() + f" study {pmid}"
        lines.append(f'{pmid},"{title}","Abstract of {pmid}.","Author{pmid} A",{2000 + pmid % 20}')
    path.write_text("\n".join(lines) + "\n")
    return path


def make_review(
    tmp_path: Path, screeners: list[str], count: int = 60, votes: int = 2, extra: str = ""
) -> Review:
    root = init_review(
        tmp_path / "review", reviewers=[Reviewer(n) for n in screeners] + [Reviewer("carol", "resolver")]
    )
    with (root / "review.toml").open("a") as handle:
        handle.write(f"\n[screening]\nvotes = {votes}\n{extra}")
    review = Review(root)
    review.import_file(records_csv(tmp_path / "first.csv", 1000, count), "db", database="MEDLINE")
    return review


def lines_of(review: Review) -> list[tuple[str, str]]:
    text = allocation_path(review.root, TA).read_text()
    rows = text.splitlines()
    assert rows[0] == "record_id,reviewer"
    return [tuple(row.split(",")) for row in rows[1:]]  # type: ignore[misc]


def shares(lines: list[tuple[str, str]]) -> Counter[str]:
    return Counter(name for _, name in lines)


def set_reviewers(review: Review, reviewers: list[str]) -> Review:
    """Rewrite review.toml's reviewers (a name ending in '=false' has left)."""
    entries = []
    for entry in reviewers:
        name, _, left = entry.partition("=")
        entries.append(f'{{ name = "{name}", role = "screener"' + (", active = false }" if left else " }"))
    entries.append('{ name = "carol", role = "resolver" }')
    text = re.sub(
        r"^reviewers = \[.*?^\]", "reviewers = [" + ", ".join(entries) + "]",
        review.config_path.read_text(), count=1, flags=re.S | re.M,
    )
    review.config_path.write_text(text)
    return Review(review.root)


@pytest.mark.parametrize("screeners", [["alice", "bob", "dave"], ["alice", "bob", "dave", "erin"]])
def test_every_record_gets_two_screeners_and_shares_differ_by_at_most_one(tmp_path, screeners) -> None:
    review = make_review(tmp_path, screeners, count=61)
    plan = allocate(review, TA)
    lines = lines_of(review)
    assert len(plan.new) == len(lines) == 2 * 61
    per_record: dict[str, set[str]] = {}
    for record_id, name in lines:
        per_record.setdefault(record_id, set()).add(name)
    assert set(per_record) == set(load_stage(review, TA).record_ids)
    assert all(len(names) == 2 for names in per_record.values())  # two distinct screeners each
    counts = shares(lines)
    assert set(counts) == set(screeners) and max(counts.values()) - min(counts.values()) <= 1
    # Every pair of screeners shares records: the pairs are mixed, not fixed teams.
    pairs = Counter(tuple(sorted(names)) for names in per_record.values())
    assert len(pairs) == len(screeners) * (len(screeners) - 1) // 2
    view = load_stage(Review(review.root), TA)
    assert view.progress()["need_vote_from"] == {name: counts[name] for name in screeners}
    assert view.progress()["not_allocated"] == 0
    # A second run adds nothing.
    assert allocate(review, TA).new == [] and len(lines_of(review)) == 2 * 61


def test_same_input_gives_the_same_file_bytes_whatever_the_order(tmp_path) -> None:
    one = make_review(tmp_path / "one", ["alice", "bob", "dave"])
    allocate(one, TA)
    # The same records in reverse file order, the screeners listed in another order.
    root = init_review(
        tmp_path / "two" / "review",
        reviewers=[Reviewer("dave"), Reviewer("alice"), Reviewer("bob"), Reviewer("carol", "resolver")],
    )
    with (root / "review.toml").open("a") as handle:
        handle.write("\n[screening]\nvotes = 2\n")
    source = records_csv(tmp_path / "forward.csv", 1000, 60).read_text().splitlines()
    reverse = tmp_path / "reverse.csv"
    reverse.write_text("\n".join([source[0], *reversed(source[1:])]) + "\n")
    two = Review(root)
    two.import_file(reverse, "db", database="MEDLINE")
    allocate(two, TA)
    first = allocation_path(one.root, TA).read_bytes()
    assert first == allocation_path(two.root, TA).read_bytes()
    assert first.count(b"\n") == 121
    # Appended only, so git merges two clones' files line by line.
    assert "allocation/*.csv merge=union" in (one.root / ".gitattributes").read_text().splitlines()


def test_records_that_arrive_later_change_only_what_was_not_allocated(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=40)
    allocate(review, TA)
    before = allocation_path(review.root, TA).read_bytes()
    old_ids = set(load_stage(review, TA).record_ids)
    review.import_file(records_csv(tmp_path / "later.csv", 5000, 20), "db2", database="Embase")
    plan = allocate(Review(review.root), TA)
    after = allocation_path(review.root, TA).read_bytes()
    assert after.startswith(before)  # appended, never rewritten
    assert {record_id for record_id, _ in plan.new} == set(load_stage(review, TA).record_ids) - old_ids
    assert len(plan.new) == 40
    counts = shares(lines_of(review))
    assert max(counts.values()) - min(counts.values()) <= 1


def test_a_screener_who_joins_takes_new_records_and_nothing_allocated_moves(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=30)
    allocate(review, TA)
    before = allocation_path(review.root, TA).read_bytes()
    review = set_reviewers(review, ["alice", "bob", "dave", "erin"])
    assert allocate(review, TA).new == []  # nothing new to allocate: the shares stay
    review.import_file(records_csv(tmp_path / "later.csv", 7000, 30), "db2", database="Embase")
    plan = allocate(Review(review.root), TA)
    assert allocation_path(review.root, TA).read_bytes().startswith(before)
    new = shares(plan.new)
    # erin (0 records) catches up first: she gets one of the two votes of every new record.
    assert new["erin"] == 30
    total = shares(lines_of(review))
    assert total["erin"] == 30 and all(total[n] == 30 for n in ("alice", "bob", "dave"))


def test_a_screener_who_leaves_keeps_their_votes_and_their_other_records_go_to_others(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave", "erin"], count=40)
    allocate(review, TA)
    alice = sorted(load_stage(review, TA).allocation.share("alice"))
    assert len(alice) == 20
    voted = alice[:5]
    DecisionLog(decision_path(review.labels_dir, TA, "alice")).append_many(
        [_decision(record_id) for record_id in voted]
    )
    before = allocation_path(review.root, TA).read_bytes()
    review = set_reviewers(review, ["alice=false", "bob", "dave", "erin"])
    plan = allocate(review, TA)
    assert allocation_path(review.root, TA).read_bytes().startswith(before)
    moved = {record_id for record_id, _ in plan.new}
    assert moved == set(alice[5:])  # each record alice had not voted on, once, to someone else
    assert all(name != "alice" for _, name in plan.new) and len(plan.new) == 15
    view = load_stage(review, TA)
    assert "alice" not in view.progress()["need_vote_from"]
    assert view.progress()["not_allocated"] == 0
    assert view.allocation.share("alice") >= set(voted)
    summary = plan.shares
    assert summary["alice"] == {
        "allocated": 20, "decided": 5, "to_do": 0, "decided_outside_share": 0, "active": False, "new": 0
    }
    remaining = [summary[n]["allocated"] for n in ("bob", "dave", "erin")]
    assert max(remaining) - min(remaining) <= 1 and sum(remaining) == 80 - 20 + 15


def _decision(record_id: str, decision: str = "exclude"):  # noqa: ANN202
    from screener.screening.decisions import Decision, now_stamp

    return Decision(record_id, decision, "", "", now_stamp(), "test")


def test_votes_outside_the_share_count_and_the_screen_holds_the_share(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=30)
    allocate(review, TA)
    view = load_stage(review, TA)
    outside = sorted(set(view.record_ids) - view.allocation.share("bob"))[0]
    asked = sorted(view.allocation.assigned[outside])
    DecisionLog(decision_path(review.labels_dir, TA, "bob")).append_many([_decision(outside)])
    DecisionLog(decision_path(review.labels_dir, TA, asked[0])).append_many([_decision(outside)])
    view = load_stage(review, TA)
    assert view.final[outside].decision == "exclude"  # bob's vote counted
    # The other screener asked for it need not vote any more: it is final.
    assert outside not in {r.id for r in screen_records(view, asked[1])[0]}
    records, said = screen_records(view, "bob")
    share = view.allocation.share("bob")
    assert {r.id for r in records} == share | {outside}
    assert said == f"20 records of your share still need your vote ({len(share)} allocated to you)"
    # The record bob decided is there (the ranking learns from it), not in his queue.
    assert view.progress()["need_vote_from"]["bob"] == 20
    # Without an allocation every record is in the screen.
    allocation_path(review.root, TA).unlink()
    assert len(screen_records(load_stage(review, TA), "bob")[0]) == 30


def test_dry_run_writes_nothing(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=12)
    plan = allocate(review, TA, dry_run=True)
    assert len(plan.new) == 24 and not (review.root / "allocation").exists()
    assert {name: s["new"] for name, s in plan.shares.items()} == {"alice": 8, "bob": 8, "dave": 8}


def test_the_allocation_file_is_checked(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=12)
    allocate(review, TA)
    path = allocation_path(review.root, TA)
    with path.open("a") as handle:
        handle.write("pmid:999999,alice\npmid:1000,mallory\n")
    view = load_stage(review, TA)
    assert view.allocation.unknown_ids == [(26, "pmid:999999")]
    assert view.allocation.unknown_reviewers == [(27, "mallory")]
    report = check_review(review)
    assert any("allocation/title-abstract.csv" in p and "pmid:999999" in p for p in report.problems)
    assert any("'mallory'" in w for w in report.warnings)
    with path.open("a") as handle:
        handle.write("pmid:1001\n")
    with pytest.raises(ScreenerError) as error:
        load_stage(review, TA)
    assert error.value.line == 28 and "record_id,reviewer" in str(error.value)
    report = check_review(review)
    assert any("allocation" in p and "28" in p for p in report.problems)


def test_a_symlinked_allocation_file_is_refused(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob"], count=4)
    target = tmp_path / "elsewhere.csv"
    target.write_text("record_id,reviewer\n")
    (review.root / "allocation").mkdir()
    allocation_path(review.root, TA).symlink_to(target)
    with pytest.raises(ScreenerError, match="symbolic link"):
        allocate(review, TA)
    assert target.read_text() == "record_id,reviewer\n"
    assert any("allocation/title-abstract.csv is a symbolic link" in p for p in check_review(review).problems)


def test_allocate_command(cli, tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=9)
    result = cli("allocate", "--dry-run", "--json", "--review", str(review.root))
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data["new_lines"] == 18 and data["stage"] == TA
    assert not (review.root / "allocation").exists()
    result = cli("allocate", "--review", str(review.root))
    assert result.code == 0, result
    assert "alice" in result.out and "still to do" in result.out
    assert len(lines_of(review)) == 18
    status = json.loads(cli("status", "--json", "--review", str(review.root)).out)
    stage = status["stages"][0]
    assert stage["allocated"] is True and stage["need_vote_from"] == {"alice": 6, "bob": 6, "dave": 6}
    result = cli("allocate", "--stage", "full-text", "--review", str(review.root))
    assert result.code == 0 and "nothing" in result.out.lower()


def test_two_clones_allocate_after_their_own_imports_and_git_merges_without_conflict(tmp_path) -> None:
    """The allocation files of two clones merge line by line (init's .gitattributes)."""
    from .test_screening import _git, _publish

    review = make_review(tmp_path, ["alice", "bob", "dave"], count=12)
    allocate(review, TA)
    remote = _publish(review.root, tmp_path)
    clones = {}
    for name, start in (("one", 3000), ("two", 4000)):
        _git(tmp_path, "clone", str(remote), name)
        clones[name] = Review(tmp_path / name)
        clones[name].import_file(records_csv(tmp_path / f"{name}.csv", start, 6), f"db-{name}", database="X")
        assert len(allocate(clones[name], TA).new) == 12
        _git(clones[name].root, "add", "-A")
        _git(clones[name].root, "commit", "-m", f"{name}: import and allocate")
    _git(clones["one"].root, "push", "origin", "main")
    pulled = _git(clones["two"].root, "pull", "--no-rebase", "origin", "main")
    assert "CONFLICT" not in pulled.stdout + pulled.stderr
    merged = Review(clones["two"].root)
    view = load_stage(merged, TA)
    assert len(view.records) == 24 and view.allocation.lines == 48
    assert all(len(view.allocation.assigned[r]) == 2 for r in view.record_ids)
    assert allocate(merged, TA).new == []


def test_check_counts_a_screeners_open_votes_against_their_share(tmp_path) -> None:
    """fix-rest 1: 'N of <share> records', not 'N of <every record of the stage>'."""
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=12)
    allocate(review, TA)
    share = len(load_stage(review, TA).allocation.share("alice"))
    assert share == 8
    work = check_review(review).open_work
    assert f"{TA}: 8 of alice's 8-record share still need alice's vote" in work
    assert not any("of 12 records still need" in w for w in work)


def test_status_says_how_much_of_a_share_others_already_made_final(cli, tmp_path) -> None:
    """fix-rest 4: after a union merge a record can be allocated to three screeners; when the
    other two made it final, status says so instead of 'screened' + 'to do' < the share."""
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=12)
    allocate(review, TA)
    view = load_stage(review, TA)
    extra = sorted(set(view.record_ids) - view.allocation.share("dave"))[0]
    for name in view.allocation.assigned[extra]:
        DecisionLog(decision_path(review.labels_dir, TA, name)).append_many([_decision(extra)])
    with allocation_path(review.root, TA).open("a") as handle:
        handle.write(f"{extra},dave\n")  # as a union merge of two clones' allocations leaves it
    status = json.loads(cli("status", "--json", "--review", str(review.root)).out)
    dave = status["stages"][0]["reviewers"]["dave"]
    assert (dave["screened"], dave["total"], dave["final_in_share"]) == (0, 9, 1)
    assert status["stages"][0]["need_vote_from"]["dave"] == 8
    text = cli("status", "--review", str(review.root)).out
    assert "0 / 9 (1 already final)" in text


def test_two_clones_importing_into_one_search_store_two_names_and_a_conflict_is_named(cli, tmp_path) -> None:
    """Two clones each import a new file into the same search: the raw files get names of their
    own (by content), so git merges them with no conflict inside an export; only the search's
    provenance, where both appended a [[files]] entry, conflicts, and every command names the
    conflict and how to resolve it. Resolved by keeping both entries, the review holds both."""
    from .test_screening import _git, _publish

    review = make_review(tmp_path, ["alice", "bob"], count=12)
    remote = _publish(review.root, tmp_path)
    clones = {}
    for name, start in (("one", 3000), ("two", 4000)):
        _git(tmp_path, "clone", str(remote), name)
        clones[name] = Review(tmp_path / name)
        clones[name].import_file(records_csv(tmp_path / f"{name}.csv", start, 6), "db", database="MEDLINE")
        _git(clones[name].root, "add", "-A")
        _git(clones[name].root, "commit", "-m", f"{name}: import")
    stored = {name: clones[name].search("db").files[1].path for name in clones}
    assert stored["one"] != stored["two"]
    _git(clones["one"].root, "push", "origin", "main")
    root = clones["two"].root
    try:  # a conflict: git exits 1
        _git(root, "pull", "--no-rebase", "origin", "main")
        raise AssertionError("the two provenances merged without a conflict")
    except subprocess.CalledProcessError as failed:
        pulled = failed
    said = pulled.stdout + pulled.stderr
    assert "CONFLICT" in said and "db.toml" in said and ".csv" not in said.split("CONFLICT", 1)[1], said
    status = cli("status", "--review", str(root))
    assert status.code == 2 and "db.toml" in status.err and "unresolved git merge conflict" in status.err
    assert "[[files]]" in status.err, status.err
    # Resolved as the message says: both sides' entries kept, each under its own [[files]].
    toml = root / "searches" / "db.toml"
    resolved = []
    for line in toml.read_text().splitlines(keepends=True):
        if line.startswith("=" * 7):
            resolved.append("\n[[files]]\n")
        elif not line.startswith(("<" * 7, ">" * 7)):
            resolved.append(line)
    toml.write_text("".join(resolved).replace("[[files]]\n\n[[files]]\n", "[[files]]\n"))
    assert cli("status", "--review", str(root)).code == 0
    assert len(Review(root).records("db")) == 24
