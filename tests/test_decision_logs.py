"""Issue #22, decision files and allocation at the seams: ids are data, never syntax; a cut line
is detected however it was cut; the order of decisions is their timestamps (ties: file order),
and `check` says when a file's order disagrees; union-merged allocations are reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.check import check_review
from screener.dedup.decisions import append_decision, read_decisions
from screener.review import Review, Reviewer, init_review
from screener.screening import load_stage
from screener.screening.allocate import allocate, allocation_path
from screener.screening.decisions import COLUMNS, DecisionLog, decision_path, read_log

TA = "title-abstract"
HEADER = ",".join(COLUMNS) + "\n"


def hash_review(tmp_path: Path, keys: tuple[str, ...]) -> Review:
    """Screeners alice and bob, resolver carol; one record per key (a CSV `key` column)."""
    root = init_review(
        tmp_path / "review", reviewers=[Reviewer("alice"), Reviewer("bob"), Reviewer("carol", "resolver")]
    )
    words = "liver kidney heart lung brain bone skin blood nerve gut".split()
    lines = ["key,title,abstract,authors,year"]
    for n, key in enumerate(keys):
        title = f"{words[n]} {words[-n - 1]} outcomes trial number {n}"
        lines.append(f'{key},"{title}","Abstract {n}.","Author{n} A",{2000 + n}')
    source = tmp_path / "export.csv"
    source.write_text("\n".join(lines) + "\n")
    review = Review(root)
    review.import_file(source, "db", database="Web of Science")
    return review


def labels(review: Review, reviewer: str) -> Path:
    return decision_path(review.labels_dir, TA, reviewer)


# -- ids starting with '#' ----------------------------------------------------------------

HASH_IDS = [
    pytest.param("#x:1", id="csv-key"),
    pytest.param("#X:0001", id="wos-ut"),
    pytest.param("#:#1", id="hash-namespace"),
]


@pytest.mark.parametrize("key", HASH_IDS)
def test_an_id_starting_with_hash_is_an_id_in_every_file(tmp_path: Path, key: str, cli) -> None:
    review = hash_review(tmp_path, (key, "wos:2", "wos:3"))
    view = load_stage(review, TA)
    assert key in view.record_ids
    for name in ("alice", "bob"):
        result = cli("--review", str(review.root), "label", "--reviewer", name, key, "include")
        assert result.code == 0, result
    view = load_stage(review, TA)
    assert view.final[key].decision == "include"  # both votes count
    assert not view.interrupted_lines
    report = check_review(review)
    assert report.ok and report.decisions_read == 2, report.to_dict()
    # A file written before the fix holds the id unquoted: still a decision, not a comment.
    with labels(review, "alice").open("a") as handle:
        handle.write(f"{key},exclude,,,2999-01-01T00:00:00.000+00:00,0.1,\n")
    assert read_log(labels(review, "alice"))[-1].decision == "exclude"
    # allocation: the second run adds nothing (it sees the first run's lines on '#' ids)
    allocate(review, TA)
    first = allocation_path(review.root, TA).read_text()
    allocate(review, TA)
    assert allocation_path(review.root, TA).read_text() == first
    view = load_stage(review, TA)
    assert view.allocation is not None and view.allocation.lines == len(first.splitlines()) - 1
    # labels/dedup.csv
    append_decision(review.dedup_decisions_path, key, "wos:2", "different", "alice")
    assert list(read_decisions(review.dedup_decisions_path)) == [tuple(sorted((key, "wos:2")))]


def test_a_comment_is_still_a_comment(tmp_path: Path) -> None:
    path = tmp_path / "labels" / TA / "alice.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "# a note to myself, include\npmid:1,include\n# another\n")
    assert [d.record_id for d in read_log(path)] == ["pmid:1"]


# -- a cut line, however it was cut ----------------------------------------------------------

T1, T2, T3 = "2026-01-01T10:00:00.000+00:00", "2026-01-01T11:00:00.000+00:00", "2026-01-01T12:00:00.000+00:00"
CUT_LINES = [
    # (what the file holds after the header, the line number the report names)
    pytest.param('wos:2,include,,"half a note', 2, id="cut-in-quoted-note-at-end"),
    pytest.param('wos:2,include,,"half a note\r', 2, id="cut-in-quoted-note-crlf"),
    pytest.param(f'wos:2,include,,"a quote typed by hand,{T1},0.2.0,\n', 2, id="hand-typed-quote"),
    pytest.param(f'wos:3,exclude,,,{T1},0.2.0,\nwos:2,include,,"cut""', 3, id="cut-after-escaped-quote"),
]


@pytest.mark.parametrize(("content", "line"), CUT_LINES)
def test_a_line_cut_inside_a_quote_never_counts_or_swallows_later_lines(
    tmp_path: Path, content: str, line: int
) -> None:
    review = hash_review(tmp_path, ("wos:1", "wos:2", "wos:3"))
    path = labels(review, "alice")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + content)
    DecisionLog(path).append("wos:1", "include")  # the next decision, appended after the cut line
    DecisionLog(path).append("wos:3", "include")
    decided = {d.record_id: d.decision for d in read_log(path)}
    assert "wos:2" not in decided  # the cut line does not count
    assert decided["wos:1"] == "include" and decided["wos:3"] == "include"  # nor swallows the next
    report = check_review(review)
    named = [w for w in report.warnings if f"alice.csv:{line}:" in w]
    assert named and "decide that record again" in named[0], report.to_dict()


# -- the order of decisions is their timestamps ----------------------------------------------


def test_after_a_union_merge_the_latest_timestamp_wins(tmp_path: Path) -> None:
    review = hash_review(tmp_path, ("wos:1", "wos:2", "wos:3"))
    path = labels(review, "alice")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Machine A decided wos:1 include at 12:00; machine B exclude at 11:00; git put B's line last.
    path.write_text(
        HEADER + f"wos:2,include,,,{T1},0.2.0,\nwos:1,include,,,{T3},0.2.0,\nwos:1,exclude,,,{T2},0.2.0,\n"
    )
    view = load_stage(review, TA)
    assert view.decisions["alice"]["wos:1"].decision == "include"
    warnings = [w for w in check_review(review).warnings if "alice.csv:4:" in w]
    assert warnings and "timestamps disagree" in warnings[0]
    # labels/dedup.csv: two clones decided one pair; the later decision wins whatever the order.
    dedup = review.dedup_decisions_path
    dedup.write_text(
        "record_id_1,record_id_2,decision,reviewer,timestamp,version\n"
        f"wos:1,wos:2,same,alice,{T3},0.2.0\nwos:2,wos:1,different,bob,{T2},0.2.0\n"
    )
    assert read_decisions(dedup)[("wos:1", "wos:2")].decision == "same"
    assert any("dedup.csv:3:" in w and "timestamps disagree" in w for w in check_review(review).warnings)


def test_equal_timestamps_keep_file_order(tmp_path: Path) -> None:
    path = tmp_path / "labels" / TA / "alice.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + f"pmid:1,include,,,{T1},0.2.0,\npmid:1,exclude,,,{T1},0.2.0,\npmid:1,maybe\n")
    # a line without a timestamp (typed by hand) counts as made with the line before it
    assert [d.decision for d in read_log(path)] == ["include", "exclude", "maybe"]
