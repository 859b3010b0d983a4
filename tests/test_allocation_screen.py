"""Issue #15: the screen and agreement with an allocation and a verified sample (the call sites in
cli/screening.py): the screen holds a screener's share, --all every record; agreement reports the
verified sample."""

from __future__ import annotations

import os
import sys

import pytest

from screener.screening import load_stage
from screener.screening.allocate import allocate
from screener.screening.decisions import DecisionLog, decision_path

from .test_allocate import TA, make_review
from .test_verified_sample import SAMPLE, split, vote


def test_the_screen_holds_the_share_and_says_how_many_need_your_vote(tmp_path) -> None:
    """Through a real terminal: alice's screen offers her share only; --all offers every record."""
    pexpect = pytest.importorskip("pexpect")
    review = make_review(tmp_path, ["alice", "bob", "dave"], count=6)
    allocate(review, TA)
    share = load_stage(review, TA).allocation.share("alice")
    assert len(share) == 4
    env = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm")

    def spawn(*args: str):  # noqa: ANN202
        return pexpect.spawn(
            sys.executable,
            ["-m", "screener", "screen", "--reviewer", "alice", "--order", "file", *args],
            cwd=str(review.root),
            env=env,
            encoding="utf-8",
            timeout=60,
        )

    child = spawn()
    child.expect_exact("4 records of your share still need your vote (4 allocated to you)")
    for _ in range(6):  # more keys than records: the screen runs out after the share
        child.send("e")
    child.send("q")
    child.expect(pexpect.EOF)
    decided = DecisionLog(decision_path(review.labels_dir, TA, "alice")).current()
    assert set(decided) == share
    # Her first decision noted what the ranking held (labels/began/), once for the round.
    began = (review.root / "labels" / "began" / "alice.csv").read_text().splitlines()
    first = min(d.timestamp for d in decided.values())
    assert began[1:] == [f"1,{first},{review.search('db').files[0].sha256[:16]}"]
    child = spawn("--all")
    child.expect_exact("0 records still need your vote (of your share; every record shown)")
    child.send("i")
    child.send("q")
    child.expect(pexpect.EOF)
    decided = DecisionLog(decision_path(review.labels_dir, TA, "alice")).current()
    assert len(decided) == 5 and set(decided) > share  # a vote outside her share, counted
    assert len((review.root / "labels" / "began" / "alice.csv").read_text().splitlines()) == 2


def test_agreement_reports_the_verified_sample(cli, tmp_path) -> None:
    review = make_review(tmp_path, ["alice", "bob"], count=40, votes=1, extra=SAMPLE)
    inside, _ = split(review)
    vote(review, "alice", inside[0], "exclude")
    vote(review, "bob", inside[0], "include")
    result = cli("agreement", "--stage", TA, "--review", str(review.root))
    assert result.code == 0, result
    assert f"verified sample (20%): 1 of {len(inside)} records screened twice, 0 agree (0.0%)" in result.out


def test_a_pull_while_the_screen_is_open_is_said_and_its_records_judged_apart(tmp_path) -> None:
    """Through a real terminal: alice opens the screen, then a pull (here an import in another
    terminal) brings a database before her first key. Her screen holds none of its records:
    it says so above the stopping line, and her labels/began/ line names what it held at its
    start, so the database is apart on her curve, though it was imported before her first
    decision (new-user helper: the rule said stop with 2 relevant records of it unseen)."""
    pexpect = pytest.importorskip("pexpect")
    from screener.review import Review
    from screener.screening import LATE_IMPORT

    from .test_allocate import records_csv

    review = make_review(tmp_path, ["alice", "bob"], count=20)
    env = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "screener", "screen", "--reviewer", "alice", "--order", "file"],
        cwd=str(review.root),
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect_exact("20 records still need your vote")
    review.import_file(records_csv(tmp_path / "late.csv", 9000, 10), "embase", database="Embase")
    child.expect("searches changed since this screen\\s+started", timeout=10)  # no key needed
    child.send("e")
    child.expect_exact("saved: exclude")
    child.send("q")
    child.expect(pexpect.EOF)
    began = (review.root / "labels" / "began" / "alice.csv").read_text().splitlines()
    assert began[1].endswith(review.search("db").files[0].sha256[:16])  # the database it held only
    view = load_stage(Review(review.root), TA)
    assert view.apart == {}  # by the clocks, the database came before her first decision
    assert len(view.apart_for("alice")) == 10 and set(view.apart_for("alice").values()) == {LATE_IMPORT}
    assert view.apart_for("bob") == {}
