"""Each reviewer's decisions: `labels/<stage>/<reviewer>.csv`, append-only, latest line wins.

One file per reviewer and stage, so two reviewers on two machines never touch the same file
and git never reports a merge conflict. Lines are only ever appended (an undo appends an
`undecided` line); every decision is flushed and fsynced before the call returns, so a decision
shown as saved survives a crash. A lock (in the git-ignored cache) refuses a second concurrent
session of the same reviewer and stage.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import ScreenerError

COLUMNS = ("record_id", "decision", "reason", "note", "timestamp", "version")
DECISIONS = ("include", "exclude", "maybe", "not-retrieved", "undecided")
INCLUDING = frozenset(("include", "maybe"))  # "maybe" counts as include when finding conflicts


@dataclass(frozen=True)
class Decision:
    record_id: str
    decision: str
    reason: str = ""
    note: str = ""
    timestamp: str = ""
    version: str = ""

    @property
    def includes(self) -> bool:
        return self.decision in INCLUDING


def decision_path(labels_dir: Path, stage: str, reviewer: str) -> Path:
    return labels_dir / stage / f"{reviewer}.csv"


def read_log(path: Path) -> list[Decision]:
    """Every line of a decision file, in order. A malformed line is an error naming it."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    out = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if number == 1 and row and row[0] == COLUMNS[0]:
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0] or row[1] not in DECISIONS:
            raise ScreenerError(
                f"expected record_id,decision,... with decision one of {', '.join(DECISIONS)}, "
                f"found {','.join(row)[:80]!r}",
                path=path,
                line=number,
                hint="fix that line by hand (nothing else in the file is touched)",
            )
        cells = (list(row) + [""] * len(COLUMNS))[: len(COLUMNS)]
        out.append(Decision(*cells))
    return out


def latest(decisions: list[Decision]) -> dict[str, Decision]:
    """The latest decision per record; records whose latest line is `undecided` are left out."""
    last: dict[str, Decision] = {}
    for decision in decisions:
        last[decision.record_id] = decision
    return {k: v for k, v in last.items() if v.decision != "undecided"}


def now_stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class DecisionLog:
    """One reviewer's decision file for one stage."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[Decision]:
        return read_log(self.path)

    def current(self) -> dict[str, Decision]:
        return latest(self.read())

    def append(self, record_id: str, decision: str, reason: str = "", note: str = "") -> Decision:
        """Append one decision; it is on disk (fsynced) when this returns."""
        if decision not in DECISIONS:
            raise ScreenerError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        entry = Decision(record_id, decision, reason, note, now_stamp(), __version__)
        self.append_many([entry])
        return entry

    def append_many(self, entries: list[Decision]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new_file = not self.path.exists() or self.path.stat().st_size == 0
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if new_file:
            writer.writerow(COLUMNS)
        for entry in entries:
            writer.writerow(
                [
                    entry.record_id,
                    entry.decision,
                    entry.reason,
                    entry.note,
                    entry.timestamp,
                    entry.version or __version__,
                ]
            )
        data = buffer.getvalue().encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def session_lock(lock_dir: Path, stage: str, reviewer: str) -> Iterator[None]:
    """Refuse a second screening session of the same reviewer and stage on this machine."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{stage}--{reviewer}.lock"
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise ScreenerError(
            f"{reviewer} is already screening {stage} in another session ({holder or 'unknown process'})",
            hint="finish or quit that session first",
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
