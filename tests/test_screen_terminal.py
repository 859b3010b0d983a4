"""The interactive screen, driven through a real pseudo-terminal: keys in, file lines out."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from screener.screening import load_stage
from screener.screening.decisions import DecisionLog, decision_path

from .test_screening import screened  # noqa: F401  (fixture)

pexpect = pytest.importorskip("pexpect")
TA, FT = "title-abstract", "full-text"


def spawn(review, *args: str):
    env = dict(os.environ, COLUMNS="120", LINES="60", TERM="xterm")
    return pexpect.spawn(
        sys.executable, ["-m", "screener", *args], cwd=str(review.root), env=env, encoding="utf-8", timeout=30
    )


def titles(review, stage: str = TA) -> list[str]:
    """What identifies each record on screen, in screening order (titles carry highlighting
    escapes; the id line does not)."""
    return [f"· {r.id}" for r in load_stage(review, stage).records]


def lines(review, reviewer: str, stage: str = TA) -> list[list[str]]:
    return [
        line.split(",")[:3]
        for line in decision_path(review.labels_dir, stage, reviewer).read_text().splitlines()[1:]
    ]


def test_keys_decide_undo_and_resume(screened):  # noqa: F811
    order = titles(screened)
    ids = [r.id for r in load_stage(screened, TA).records]
    child = spawn(screened, "screen", "--reviewer", "alice", "--order", "file")
    child.expect_exact(order[0])
    child.send("i")
    child.expect_exact(order[1])
    child.send("e")
    child.expect_exact(order[2])
    child.send("u")  # undo: the excluded record comes back
    child.expect_exact(order[1])
    child.expect("undone")
    child.send("n")
    child.expect("Note")
    child.sendline("check the full text")
    child.send("m")
    child.expect_exact(order[2])
    child.send("?")
    child.expect("skip for now")
    child.send("q")
    child.expect(pexpect.EOF)
    assert [line[:2] for line in lines(screened, "alice")] == [
        [ids[0], "include"],
        [ids[1], "exclude"],
        [ids[1], "undecided"],
        [ids[1], "maybe"],
    ]
    assert (
        DecisionLog(decision_path(screened.labels_dir, TA, "alice")).current()[ids[1]].note
        == "check the full text"
    )
    again = spawn(screened, "screen", "--reviewer", "alice", "--order", "file")
    again.expect_exact(order[2])  # resumes at the first record not yet decided
    again.send("s")  # skip for now: the next one comes first
    again.expect_exact(order[3])
    again.send("q")
    again.expect(pexpect.EOF)


def test_killed_session_loses_no_saved_decision(screened):  # noqa: F811
    order = titles(screened)
    child = spawn(screened, "screen", "--reviewer", "bob", "--order", "file")
    child.expect_exact(order[0])
    for k, key in enumerate("iei"):
        child.send(key)
        child.expect_exact(order[k + 1])  # the next record is on screen: the decision is saved
    second = spawn(screened, "screen", "--reviewer", "bob", "--order", "file")
    second.expect("already screening")
    second.expect(pexpect.EOF)
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    assert [line[1] for line in lines(screened, "bob")] == ["include", "exclude", "include"]


def test_full_text_exclusion_asks_for_a_reason(screened):  # noqa: F811
    ids = [r.id for r in load_stage(screened, TA).records]
    for reviewer in ("alice", "bob"):
        decisions = DecisionLog(decision_path(screened.labels_dir, TA, reviewer))
        decisions.append(ids[0], "include")
        decisions.append(ids[1], "include")
    order = titles(screened, FT)
    child = spawn(screened, "screen", "--reviewer", "alice", "--stage", FT, "--order", "file")
    child.expect_exact(order[0])
    child.send("e")
    child.expect("Reason for exclusion")
    child.send("2")
    child.expect_exact(order[1])
    child.send("r")
    child.expect("All 2 records")
    child.send("q")
    child.expect(pexpect.EOF)
    reason = screened.config.exclusion_reasons[1]
    current = DecisionLog(decision_path(screened.labels_dir, FT, "alice")).current()
    assert current[ids[0]].decision == "exclude" and current[ids[0]].reason == reason
    assert current[ids[1]].decision == "not-retrieved"


def test_screen_is_blind_and_resolver_sees_both(screened):  # noqa: F811
    view = load_stage(screened, TA)
    first = view.records[0]
    DecisionLog(decision_path(screened.labels_dir, TA, "bob")).append(first.id, "exclude", note="BOBSNOTE")
    child = spawn(screened, "screen", "--reviewer", "alice", "--order", "file")
    child.expect_exact(f"· {first.id}")
    child.send("i")
    child.expect("saved")
    child.send("q")
    child.expect(pexpect.EOF)
    assert "BOBSNOTE" not in child.before
    resolver = spawn(screened, "resolve", "--reviewer", "carol")
    resolver.expect("BOBSNOTE")  # the resolver sees both decisions and the notes
    resolver.send("i")
    resolver.expect("The 1 record of")
    resolver.send("q")
    resolver.expect(pexpect.EOF)
    assert load_stage(screened, TA).final[first.id].by == "carol"


def test_ranked_order_in_the_terminal(screened):  # noqa: F811
    """The default order learns from the reviewer's decisions; every record still comes once."""
    child = spawn(screened, "screen", "--reviewer", "alice")
    # The stopping rule's state is on screen from the start.
    child.expect_exact("0 relevant found, 0 irrelevant in a row")
    seen = []
    for key in "ieiei":
        child.expect(r"· ((?:pmid|doi|embase):\S+?)\x1b")
        seen.append(child.match.group(1))
        child.expect("quit")
        child.send(key)
    child.expect_exact("3 relevant found, 0 irrelevant in a row")
    child.expect_exact("100%")
    child.expect("All 5 records")
    child.send("q")
    child.expect(pexpect.EOF)
    assert sorted(seen) == sorted(r.id for r in load_stage(screened, TA).records)
    assert [line[1] for line in lines(screened, "alice")] == [
        "include",
        "exclude",
        "include",
        "exclude",
        "include",
    ]


def test_a_note_typed_before_quitting_is_not_dropped_without_asking(screened):  # noqa: F811
    order = titles(screened)
    child = spawn(screened, "screen", "--reviewer", "bob", "--order", "file")
    child.expect_exact(order[0])
    child.send("n")
    child.expect("Note")
    child.sendline("keep me")
    child.send("q")
    child.expect("your note is not saved yet")
    child.send("i")  # back to screening: the decision takes the note
    child.expect_exact(order[1])
    child.send("q")
    child.expect(pexpect.EOF)
    assert lines(screened, "bob")[0][:2] == [order[0][2:], "include"]
    log = DecisionLog(decision_path(screened.labels_dir, TA, "bob")).read()
    assert log[0].note == "keep me"
