"""Human decisions on pairs of records: `labels/dedup.csv`, append-only, latest decision wins.

Columns: record_id_1, record_id_2, decision (same | different | skip), reviewer, timestamp,
version. Every later run and every update honours them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import ScreenerError

COLUMNS = ("record_id_1", "record_id_2", "decision", "reviewer", "timestamp", "version")
DECISIONS = ("same", "different", "skip")


@dataclass(frozen=True)
class PairDecision:
    id_1: str
    id_2: str
    decision: str
    reviewer: str = ""
    timestamp: str = ""
    # Set on a decision just written when this machine's clock was behind a line of the file.
    clock_note: str = field(default="", compare=False, repr=False)


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _is_complete(row: list[str]) -> bool:
    return len(row) >= 3 and bool(row[0].strip()) and bool(row[1].strip()) and row[2] in DECISIONS


def read_decisions(path: Path) -> dict[tuple[str, str], PairDecision]:
    """The latest decision per pair; a malformed line is an error naming file and line."""
    return read_decision_log(path)[0]


def read_decision_log(
    path: Path,
) -> tuple[dict[tuple[str, str], PairDecision], str | None, str | None]:
    """The latest decision per pair, by timestamp (ties: file order; after a union merge of two
    clones' files the last line need not be the latest), a warning when the file's order and
    its timestamps disagree, and a problem when a line is dated in the future (applog.future).
    A malformed line is an error naming file and line."""
    from ..applog import disorder, future, read_rows, shown, time_order

    rows = read_rows(path, COLUMNS[0], _is_complete).rows
    for number, row in rows:
        if not _is_complete(row):
            raise ScreenerError(
                f"expected record_id_1,record_id_2,same|different|skip,... but found {','.join(row)[:80]!r}",
                path=path,
                line=number,
                hint="fix that line by hand; every other line is kept",
            )
    stamps = [(row[4] if len(row) > 4 else "") for _, row in rows]
    latest: dict[tuple[str, str], PairDecision] = {}
    for index in time_order(stamps):
        row = rows[index][1]
        id_1, id_2 = row[0].strip(), row[1].strip()
        reviewer, stamp = (row[3:5] + ["", ""])[:2]
        latest[pair_key(id_1, id_2)] = PairDecision(id_1, id_2, row[2], shown(reviewer), shown(stamp))
    numbered = [(number, shown(stamp)) for (number, _), stamp in zip(rows, stamps, strict=True)]
    return latest, disorder(path, numbered), future(path, numbered)


def append_decision(path: Path, id_1: str, id_2: str, decision: str, reviewer: str = "") -> PairDecision:
    """Append one decision and fsync it before returning (see applog: locked, never glued
    onto a line, never through a symlink)."""
    from ..applog import append_rows

    if decision not in DECISIONS:
        raise ScreenerError(f"decision must be one of {', '.join(DECISIONS)}")
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    row = [id_1, id_2, decision, reviewer, stamp, __version__]
    written = append_rows(path, COLUMNS, [row], _is_complete, stamp_column=COLUMNS.index("timestamp"))
    return PairDecision(id_1, id_2, decision, reviewer, written.stamps[0], written.note)


def split_decisions(
    decisions: dict[tuple[str, str], PairDecision],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    same = [k for k, d in decisions.items() if d.decision == "same"]
    different = [k for k, d in decisions.items() if d.decision == "different"]
    return same, different
