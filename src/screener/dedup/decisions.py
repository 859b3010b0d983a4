"""Human decisions on pairs of records: `labels/dedup.csv`, append-only, latest line wins.

Columns: record_id_1, record_id_2, decision (same | different | skip), reviewer, timestamp,
version. Every later run and every update honours them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass
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


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def read_decisions(path: Path) -> dict[tuple[str, str], PairDecision]:
    """The latest decision per pair; a malformed line is an error naming file and line."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    latest: dict[tuple[str, str], PairDecision] = {}
    for number, row in enumerate(reader, start=1):
        if number == 1 and row and row[0] == COLUMNS[0]:
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 3 or row[2] not in DECISIONS or not row[0] or not row[1]:
            raise ScreenerError(
                f"expected record_id_1,record_id_2,same|different|skip,... but found {','.join(row)[:80]!r}",
                path=path,
                line=number,
                hint="fix that line by hand; every other line is kept",
            )
        decision = PairDecision(row[0], row[1], row[2], *(row[3:5] + ["", ""])[:2])
        latest[pair_key(row[0], row[1])] = decision
    return latest


def append_decision(path: Path, id_1: str, id_2: str, decision: str, reviewer: str = "") -> PairDecision:
    """Append one decision and fsync it before returning."""
    if decision not in DECISIONS:
        raise ScreenerError(f"decision must be one of {', '.join(DECISIONS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    new_file = not path.exists() or path.stat().st_size == 0
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if new_file:
        writer.writerow(COLUMNS)
    writer.writerow([id_1, id_2, decision, reviewer, stamp, __version__])
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())
    return PairDecision(id_1, id_2, decision, reviewer, stamp)


def split_decisions(
    decisions: dict[tuple[str, str], PairDecision],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    same = [k for k, d in decisions.items() if d.decision == "same"]
    different = [k for k, d in decisions.items() if d.decision == "different"]
    return same, different
