"""Each reviewer's decisions: `labels/<stage>/<reviewer>.csv`, append-only, latest decision wins.

One file per reviewer and stage, so two reviewers on two machines never touch the same file
and git never reports a merge conflict. Lines are only ever appended (an undo appends an
`undecided` line); every decision is flushed and fsynced before the call returns, so a decision
shown as saved survives a crash, and no append can glue onto a line or write through a symlink
(see `applog`). A lock (in the user's cache) refuses a second concurrent session of the same
reviewer and stage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import __version__
from ..errors import ScreenerError

COLUMNS = ("record_id", "decision", "reason", "note", "timestamp", "version", "tags")
# The columns of a file written before tags existed: such a file keeps its own header (nothing
# already written is rewritten), so it takes no tags until a person adds the column by hand.
COLUMNS_WITHOUT_TAGS = COLUMNS[:6]
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
    tags: str = ""  # free text, "; " between tags (see normalise_tags)
    # Set on a decision just written when this machine's clock was behind a line of the file
    # (applog.append_rows): the sentence to show the user. Never read from or written to a file.
    clock_note: str = field(default="", compare=False, repr=False)

    @property
    def includes(self) -> bool:
        return self.decision in INCLUDING

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (part.strip() for part in self.tags.split(";")) if t]


def normalise_tags(text: str) -> str:
    """Tags as typed ("rct, adults; follow-up") in one cell: split at commas and semicolons,
    trimmed, each once in the order given, joined with "; "."""
    seen: list[str] = []
    for part in text.replace(",", ";").split(";"):
        tag = " ".join(part.split())
        if tag and tag.lower() not in (t.lower() for t in seen):
            seen.append(tag)
    return "; ".join(seen)


def decision_path(labels_dir: Path, stage: str, reviewer: str) -> Path:
    """labels/<stage>/<reviewer>.csv, the names checked and no symlink on the way."""
    from ..names import inside

    return inside(labels_dir.parent, "labels", stage, f"{check_reviewer_name(reviewer)}.csv", what="labels")


def check_reviewer_name(reviewer: str) -> str:
    from ..names import check_name

    return check_name(reviewer, "reviewer name")


def is_complete(row: list[str]) -> bool:
    """A whole decision line: an id, a known decision word (every column after is optional)."""
    return len(row) >= 2 and bool(row[0].strip()) and row[1] in DECISIONS


@dataclass
class LogFile:
    """A decision file read: its decisions in the order they were made (timestamps, ties in file
    order), the interrupted lines skipped, and a warning when the file's order disagrees."""

    decisions: list[Decision]
    skipped: list[str]
    disorder: str | None = None
    future: str | None = None  # lines dated ahead of the clock (applog.future)
    unreadable: str | None = None  # lines whose timestamp is no date (applog.unreadable)


def read_log_file(path: Path) -> LogFile:
    """Every decision line of a file, in the order they were made (`applog.time_order`: after a
    union merge the line last in the file need not be the latest). A malformed line is an error
    naming it."""
    from ..applog import disorder, future, read_rows, shown, time_order, unreadable

    file_columns(path)  # a header in another order is an error, not a misread
    log = read_rows(path, COLUMNS[0], is_complete)
    out: list[Decision] = []
    stamps: list[str] = []
    for number, row in log.rows:
        if not is_complete(row):
            raise ScreenerError(
                f"expected record_id,decision,... with decision one of {', '.join(DECISIONS)}, "
                f"found {','.join(row)[:80]!r}",
                path=path,
                line=number,
                hint="fix that line by hand (nothing else in the file is touched)",
            )
        cells = ([row[0].strip(), *row[1:]] + [""] * len(COLUMNS))[: len(COLUMNS)]
        stamps.append(cells[4])
        out.append(Decision(cells[0], cells[1], *map(shown, cells[2:])))
    ordered = [out[i] for i in time_order(stamps)]
    numbers = [number for number, _ in log.rows]
    numbered = list(zip(numbers, map(shown, stamps), strict=True))
    return LogFile(
        ordered, log.skipped, disorder(path, numbered), future(path, numbered), unreadable(path, numbered)
    )


def read_log_rows(path: Path) -> tuple[list[Decision], list[str]]:
    """Every decision of a file, in the order they were made, and the interrupted lines skipped."""
    log = read_log_file(path)
    return log.decisions, log.skipped


def read_log(path: Path) -> list[Decision]:
    """Every decision of a file, in the order they were made (interrupted lines skipped)."""
    return read_log_rows(path)[0]


def latest(decisions: list[Decision]) -> dict[str, Decision]:
    """The latest decision per record, in the order they were made (a changed decision moves to
    its new line's place); records whose latest line is `undecided` are left out. `decisions`
    come in the order they were made (read_log)."""
    last: dict[str, Decision] = {}
    for decision in decisions:
        last.pop(decision.record_id, None)
        last[decision.record_id] = decision
    return {k: v for k, v in last.items() if v.decision != "undecided"}


def screening_began(labels_dir: Path, stage: str = "title-abstract") -> bool:
    """Whether anyone has recorded a decision at `stage`: a line after the header of any
    reviewer's file (read no further: it runs after every import)."""
    folder = labels_dir / stage
    if not folder.is_dir() or folder.is_symlink():
        return False
    for path in folder.glob("*.csv"):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            with path.open("rb") as handle:
                handle.readline()
                if any(line.strip() for line in (handle.readline(), handle.readline())):
                    return True
        except OSError:
            continue
    return False


def now_stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def file_columns(path: Path) -> tuple[str, ...]:
    """The columns a decision file is appended in: its own header's. A new (or empty) file gets
    every column; a file whose first line is no header, or a header without `tags` (written
    before the column existed), keeps the six columns it was written with."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return COLUMNS
    except OSError as exc:
        raise ScreenerError(f"cannot be read ({exc.strerror})", path=path) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ScreenerError("is not a regular file", path=path, hint="restore it from git")
        head = os.pread(fd, 4096, 0)
    finally:
        os.close(fd)
    from ..applog import split_lines

    # The header as the reader finds it: lines end at \r\n, \n or \r (applog.split_lines).
    first = split_lines(head.decode("utf-8", "replace"))[0].lstrip("\ufeff").strip()
    if not first:
        return COLUMNS
    names = tuple(c.strip() for c in first.split(","))
    if names == COLUMNS:
        return COLUMNS
    if names and names[0] == COLUMNS[0] and names != COLUMNS[: len(names)]:
        # Lines are read by position: a header in another order would read a note as a tag.
        raise ScreenerError(
            f"has the header {first[:120]!r}; decision files have {','.join(COLUMNS)}, in that order "
            "(the first two at least)",
            path=path,
            line=1,
            hint="restore the file from git, or put the columns back in that order",
        )
    return COLUMNS_WITHOUT_TAGS


def tags_refused(path: Path) -> ScreenerError:
    return ScreenerError(
        "was written before decision files had a tags column, so it takes no tags",
        path=path,
        hint="decide without tags (put them in the note), or add ',tags' to the end of the file's first "
        "line: earlier lines then simply have no tags, and nothing else changes",
    )


class DecisionLog:
    """One reviewer's decision file for one stage."""

    def __init__(self, path: Path, began: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._columns: tuple[str, ...] | None = None
        # Called once, with the stamp of the first decision made now through this log: what the
        # ranking held when the reviewer began (began.note_began; see for_reviewer).
        self._began = began

    @classmethod
    def for_reviewer(  # noqa: ANN001 - Review, StageView
        cls, review, stage: str, reviewer: str, view, held: tuple[int, str] | None = None
    ) -> DecisionLog:
        """The reviewer's log for `stage`, noting in labels/began/ what the review held when
        their first decision of a round was made (began.py): `view` is the stage as the
        decisions are made against it, `held` began.held_now's answer when their ranking was
        made (the screen's start), else the review when the decision is."""
        from .began import note_began

        number = held[0] if held is not None else review.current_round()
        # The rounds whose curve of theirs has not begun (no decision of theirs on a study of
        # it): a line for one that has would date its start too late. An earlier round left
        # unscreened until a later update came begins now too.
        decided = {view.rounds.get(study, 1) for study in view.decisions.get(reviewer, {})}
        rounds = [n for n in range(1, number + 1) if n not in decided]
        return cls(
            decision_path(review.labels_dir, stage, reviewer),
            (lambda stamp: note_began(review, reviewer, stage, stamp, held, rounds)) if rounds else None,
        )

    def columns(self) -> tuple[str, ...]:
        """The file's columns (file_columns), read once the file has its header."""
        if self._columns is not None:
            return self._columns
        columns = file_columns(self.path)
        if columns == COLUMNS and self.path.exists():  # a header without tags may gain it by hand
            self._columns = columns
        return columns

    def takes_tags(self) -> bool:
        return "tags" in self.columns()

    def read(self) -> list[Decision]:
        return read_log(self.path)

    def current(self) -> dict[str, Decision]:
        return latest(self.read())

    def append(
        self, record_id: str, decision: str, reason: str = "", note: str = "", tags: str = ""
    ) -> Decision:
        """Append one decision; it is on disk (fsynced) when this returns."""
        if decision not in DECISIONS:
            raise ScreenerError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        entry = Decision(record_id, decision, reason, note, now_stamp(), __version__, normalise_tags(tags))
        return self.append_many([entry])[0]

    def append_many(self, entries: list[Decision], made_now: bool = True) -> list[Decision]:
        """Append every entry in one fsynced write under the file's lock (see applog), in the
        file's own columns (`file_columns`): tags into a file without the column are refused.
        The entries as written: decisions `made_now` are dated after every line already in the
        file (`clock_note` says when that moved a stamp); others keep their own time."""
        from ..applog import append_rows

        columns = self.columns()
        if "tags" not in columns and any(e.tags for e in entries):
            raise tags_refused(self.path)
        rows = [
            [e.record_id, e.decision, e.reason, e.note, e.timestamp, e.version or __version__, e.tags][
                : len(columns)
            ]
            for e in entries
        ]
        for row in rows:
            if not is_complete(row):
                raise ScreenerError(f"refusing to write an incomplete decision {row[:2]!r}", path=self.path)
        stamp = COLUMNS.index("timestamp") if made_now else None
        written = append_rows(self.path, COLUMNS, rows, is_complete, folders=2, stamp_column=stamp)
        if not made_now:
            return entries
        if self._began is not None and written.stamps:
            began, self._began = self._began, None
            # The decision is saved already; a line that cannot be written (a planted link,
            # which 'screener check' names) leaves the import times to judge, as before.
            with contextlib.suppress(ScreenerError, OSError):
                began(written.stamps[0])
        return [
            replace(e, timestamp=t, clock_note=written.note)
            for e, t in zip(entries, written.stamps, strict=True)
        ]


@contextlib.contextmanager
def session_lock(lock_dir: Path, stage: str, reviewer: str) -> Iterator[None]:
    """Refuse a second screening session of the same reviewer and stage on this machine."""
    path = lock_dir / f"{stage}--{reviewer}.lock"
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
    except OSError as exc:  # a read-only or full cache folder
        raise ScreenerError(
            f"cannot keep the screen's session lock ({exc.strerror or exc})",
            path=path,
            hint="the cache folder must be writable: set SCREENER_CACHE_DIR to a folder that is",
        ) from None
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
