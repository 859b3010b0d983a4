"""Issue #15, single screening with a verified sample: `votes = 1` and `verify_sample`, a share
of the records (fixed by a hash of stage and id) screened twice, a disagreement there a conflict."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from screener.errors import ScreenerError
from screener.review import Review
from screener.screening import in_verified_sample, load_stage
from screener.screening.allocate import allocate, allocation_path
from screener.screening.decisions import DecisionLog, decision_path

from .test_allocate import make_review, records_csv

TA = "title-abstract"
SAMPLE = "verify_sample = 0.2\n"


def vote(review: Review, reviewer: str, record_id: str, decision: str) -> None:
    DecisionLog(decision_path(review.labels_dir, TA, reviewer)).append(record_id, decision)


def split(review: Review) -> tuple[list[str], list[str]]:
    view = load_stage(review, TA)
    inside = [r for r in view.record_ids if view.in_sample(r)]
    return inside, [r for r in view.record_ids if r not in inside]


def test_the_sample_is_about_the_share_asked_and_fixed_by_stage_and_id() -> None:
    ids = [f"pmid:{n}" for n in range(20000)]
    chosen = [i for i in ids if in_verified_sample(TA, i, 0.1)]
    assert 1800 < len(chosen) < 2200
    # Another stage draws another sample; a record's membership depends on nothing else.
    other = {i for i in ids if in_verified_sample("full-text", i, 0.1)}
    assert 0 < len(other & set(chosen)) < len(chosen)
    assert not any(in_verified_sample(TA, i, 0.0) for i in ids[:100])
    assert all(in_verified_sample(TA, i, 1.0) for i in ids[:100])


def test_a_disagreement_in_the_sample_is_a_conflict_and_one_vote_is_final_outside(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob"], count=40, votes=1, extra=SAMPLE)
    inside, outside = split(review)
    assert len(inside) >= 3 and len(outside) >= 2
    agreed, disputed, waiting = inside[:3]
    for record_id in (agreed, disputed, waiting):
        vote(review, "alice", record_id, "include")
    vote(review, "bob", agreed, "maybe")  # maybe agrees with include
    vote(review, "bob", disputed, "exclude")
    vote(review, "bob", outside[0], "exclude")
    view = load_stage(review, TA)
    assert view.votes == 1 and view.votes_for(agreed) == 2 and view.votes_for(outside[0]) == 1
    kinds = {c.record_id: c.kind for c in view.conflicts}
    assert kinds[disputed] == "disagree" and disputed not in view.final
    assert kinds[waiting] == "single" and waiting not in view.final  # one vote of the two it needs
    assert view.final[agreed].decision == "include"
    assert view.final[outside[0]].decision == "exclude" and outside[0] not in kinds
    progress = view.progress()
    assert progress["conflicts_to_resolve"] == 1 and progress["screened_by_some_only"] == 1
    assert progress["verify_sample"] == {
        "fraction": 0.2,
        "records": len(inside),
        "double_screened": 2,
        "agreeing": 1,
        "percent_agreement": 0.5,
        # Observed agreement 1/2, chance (3/4)^2 + (1/4)^2 = 5/8: kappa (1/2 - 5/8) / (3/8) = -1/3.
        "kappa": pytest.approx(-1 / 3),
    }
    # The resolver settles the sample's conflict.
    DecisionLog(decision_path(review.labels_dir, TA, "carol")).append(disputed, "exclude")
    assert load_stage(review, TA).final[disputed].by == "carol"


def test_allocation_gives_sample_records_two_screeners_and_the_others_one(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=50, votes=1, extra=SAMPLE)
    inside, outside = split(review)
    allocate(review, TA)
    rows = allocation_path(review.root, TA).read_text().splitlines()[1:]
    per_record = Counter(row.split(",")[0] for row in rows)
    assert {r: per_record[r] for r in inside} == dict.fromkeys(inside, 2)
    assert {r: per_record[r] for r in outside} == dict.fromkeys(outside, 1)
    counts = Counter(row.split(",")[1] for row in rows)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_the_sample_is_stable_when_records_arrive(tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob"], count=40, votes=1, extra=SAMPLE)
    before, _ = split(review)
    review.import_file(records_csv(tmp_path / "later.csv", 9000, 40), "db2", database="Embase")
    after, _ = split(Review(review.root))
    assert set(before) <= set(after) and len(after) > len(before)


@pytest.mark.parametrize(
    ("screening", "reviewers", "message"),
    [
        ("votes = 2\nverify_sample = 0.1", ["alice", "bob"], "votes is 2"),
        ("verify_sample = 0.1", ["alice", "bob"], "votes is 2"),  # two screeners: dual by default
        ("votes = 1\nverify_sample = 10", ["alice", "bob"], "a fraction, not a percent"),
        ("votes = 1\nverify_sample = \"10%\"", ["alice", "bob"], "a fraction from 0 to 1"),
        ("verify_sample = 0.1", ["alice"], "needs two active screeners"),
    ],
)
def test_a_verified_sample_that_cannot_work_is_refused(cli, tmp_path, screening, reviewers, message) -> None:
    root = tmp_path / "review"
    people = [arg for name in reviewers for arg in ("--reviewer", name)]
    assert cli("init", str(root), *people).code == 0
    with (root / "review.toml").open("a") as handle:
        handle.write(f"\n[screening]\n{screening}\n")
    result = cli("status", "--review", str(root))
    assert result.code == 2 and "screening.verify_sample" in result.err and message in result.err, result
    with pytest.raises(ScreenerError):
        Review(root).config  # noqa: B018


def test_status_and_agreement_report_the_sample(cli, tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob"], count=40, votes=1, extra=SAMPLE)
    inside, _ = split(review)
    for record_id in inside[:2]:
        vote(review, "alice", record_id, "exclude")
        vote(review, "bob", record_id, "exclude")
    status = json.loads(cli("status", "--json", "--review", str(review.root)).out)
    sample = status["stages"][0]["verify_sample"]
    assert sample["double_screened"] == 2 and sample["agreeing"] == 2 and sample["kappa"] is None
    text = cli("status", "--review", str(review.root)).out
    assert f"verified sample (20%): 2 of {len(inside)} records screened twice, 2 agree (100.0%)" in text
