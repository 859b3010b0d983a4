"""Append-only CSV logs: each reviewer's decision files and labels/dedup.csv.

The rules that keep a decision from being lost or invented, whatever the file went through:
- every append is one `write` under an exclusive `flock` on the file itself, fsynced before
  returning; the header is written under the same lock, so two processes never both write it;
- an append starts on a new line whatever the file ends with: a last line saved without a
  newline by an editor stays a decision of its own, and a line cut by an interrupted write is
  followed by a comment saying so, which makes readers skip it (never glue onto it);
- files are opened with `O_NOFOLLOW`: a committed symlink is refused, never written through;
- reading checks the encoding (UTF-8, an Excel BOM tolerated) and names the line of a bad byte.

Records are one physical line each (a writer puts every cell on one line), so a line is read
on its own: a quote left open by a cut or by hand is that line's fault, never swallows the lines
after it, and the line is skipped and reported. Ids are data, never syntax: a line starting with
`#` is a comment only when it is no complete row (`#x:1,include` is a decision on the id `#x:1`);
writers quote a cell starting with `#` all the same, so other tools never take it for a comment.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .errors import ScreenerError
from .names import open_append_beneath, read_regular_bytes
from .outputs import csv_line
from .records import safe_text
from .words import plural

CUT_MARK = "# the line above was cut by an interrupted write; screener ignores it"
# How far back from the end an append looks for the start of the last line.
MAX_LINE = 100_000
# A cell screener writes (a note, a reason) is at most this long, so every line stays under
# MAX_LINE; reading allows longer cells, which a person may have typed by hand.
MAX_CELL = 20_000
csv.field_size_limit(max(csv.field_size_limit(), 16 << 20))
# The one rule for where a line ends, as the csv module has it: \r\n, \n or \r alone (Excel for
# Mac saves CSV with CR only). Every reader of a log's lines splits with it (`split_lines`).
T = TypeVar("T")
_LINE_END = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """A log's text cut into lines at \r\n, \n or \r (the last item is "" when it ends with one)."""
    return _LINE_END.split(text)


@dataclass
class LogRows:
    """The data rows of a log (1-based line numbers kept) and what was skipped, and why."""

    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def read_rows(path: Path, header_first: str, is_complete: Callable[[list[str]], bool]) -> LogRows:
    """Every data row of the log at `path` (none when it does not exist).

    `header_first` is the first column's name (a first line starting with it is the header);
    `is_complete(row)` says whether a row is a whole, valid line: a last line that is not, with
    no final newline, is an interrupted write and is skipped (and reported in `skipped`), as is
    a line followed by the cut mark that `append_rows` writes.
    """
    out = LogRows()
    if not path.exists() and not path.is_symlink():
        return out
    text = _read_text(path)
    ends_with_newline = text.endswith(("\n", "\r"))
    parsed: list[tuple[int, list[str], bool]] = []
    lines = split_lines(text)
    if ends_with_newline:
        lines.pop()
    for number, line in enumerate(lines, 1):
        if _damage(line):  # judged below, by where the line is
            parsed.append((number, [line], True))
            continue
        try:
            row, closed = parse_line(line)
        except csv.Error as exc:
            raise ScreenerError(
                f"is not a readable CSV file ({exc})", path=path, line=number, hint="restore it from git"
            ) from None
        parsed.append((number, row, closed))
    for index, (number, row, closed) in enumerate(parsed):
        last = index == len(parsed) - 1
        following = parsed[index + 1][1] if index + 1 < len(parsed) else []
        cut_by_writer = bool(following) and following[0].strip() == CUT_MARK
        damage = _damage(lines[index])
        if damage and number > 1 and (last and not ends_with_newline or cut_by_writer):
            # A write cut inside a character, or a crash that left the file's end zero-filled.
            out.skipped.append(
                f"{path}:{number}: an incomplete line (an interrupted write left {damage}) is ignored; "
                "its decision does not count: decide that record again"
            )
            continue
        if damage == "NUL bytes":
            what = "holds NUL bytes; it is not a CSV text file"
            raise ScreenerError(what, path=path, line=number, hint="restore it from git")
        if damage:
            raise ScreenerError(
                "is not valid UTF-8",
                path=path,
                line=number,
                hint="save it as UTF-8 (decision files are plain UTF-8 CSV)",
            )
        first = row[0].strip() if row else ""
        if not any(cell.strip() for cell in row):
            continue
        if first.startswith("#") and closed and not is_complete(row):
            continue  # a comment (the cut mark among them)
        if number == 1 and first == header_first:
            continue
        if not closed:
            out.skipped.append(
                f'{path}:{number}: a line with an unclosed quote (cut by an interrupted write, or a " '
                "typed by hand) is ignored; its decision does not count: close the quote by hand, or "
                "delete the line and decide that record again"
            )
            continue
        if (last and not ends_with_newline or cut_by_writer) and not is_complete(row):
            out.skipped.append(
                f"{path}:{number}: an incomplete line (an interrupted write) is ignored; its decision "
                "does not count: decide that record again"
            )
            continue
        out.rows.append((number, row))
    return out


def _read_text(path: Path) -> str:
    """The log's text; a byte that is no UTF-8 (say, of a character cut by an interrupted
    write) kept as a lone surrogate, for the reader to judge the line it is on (`_damage`)."""
    data = read_regular_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):  # an Excel BOM
        data = data[3:]
    return data.decode("utf-8", "surrogateescape")


def _damage(line: str) -> str:
    """What makes a line no text: NUL bytes, or bytes that are no UTF-8 ("" when none)."""
    if "\x00" in line:
        return "NUL bytes"
    if not line.isascii() and any("\udc80" <= char <= "\udcff" for char in line):
        return "bytes that are no UTF-8"
    return ""


def parse_line(line: str) -> tuple[list[str], bool]:
    """One physical line's cells, and whether every quote it opens is closed (a line cut inside
    a quoted cell is not). A stray quote inside a cell is read as Excel reads it."""
    row = next(csv.reader([line]), [])
    if '"' not in line:
        return row, True
    try:
        next(csv.reader([line], strict=True), [])
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return row, False
    return row, True


def shown(text: str) -> str:
    """A field read from a log anyone can edit (a note, a reviewer, a timestamp), as the
    terminal, the report and exports may show it: each control or bidi character (an escape
    sequence, a bidi override) a space (`records.safe_text`), else exactly as written. Ids are
    not passed through here: they are data, matched as written, and cleaned where shown."""
    return safe_text(text)


def time_order(stamps: Sequence[str]) -> list[int]:
    """The indices of a log's lines (given by their timestamps, in file order) in the order the
    decisions were made: by timestamp, ties in file order. A line without a readable timestamp
    (written by hand) counts as made with the line before it. Folding lines in this order gives
    the same result whatever order git's union merge left the lines of two machines in."""
    times = _times(stamps)
    return sorted(range(len(stamps)), key=times.__getitem__)


def by_time(items: Sequence[T], stamp: Callable[[T], str]) -> list[T]:
    """`items` in the order they were made, by `stamp(item)` as `time_order` reads it: parsed,
    so lines written with other UTC offsets (+05:00, Z) fall where they belong; never sort
    timestamps as strings."""
    return [items[i] for i in time_order([stamp(item) for item in items])]


def disorder(path: Path, numbered: Sequence[tuple[int, str]]) -> str | None:
    """A warning when the lines (line number, timestamp) are not in time order: the first line
    made earlier than a line above it, or None."""
    times = _times([stamp for _, stamp in numbered])
    latest = 0
    for index in range(1, len(numbered)):
        if times[index] < times[latest]:
            return (
                f"{path}:{numbered[index][0]}: made at {numbered[index][1]}, before line "
                f"{numbered[latest][0]} above it ({numbered[latest][1]}): the file's order and its "
                "timestamps disagree (git's union merge of two clones' files does this, or a clock "
                "was wrong); the latest timestamp counts, whatever the order of the lines"
            )
        if times[index] > times[latest]:
            latest = index
    return None


# How far ahead of this machine's clock a line may be dated before `check` calls it a problem:
# clocks of two machines differ a little, never by more.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def future(path: Path, numbered: Sequence[tuple[int, str]], now: dt.datetime | None = None) -> str | None:
    """A problem when lines (line number, timestamp) are dated ahead of the clock: such a line
    outranks every decision made before that time, or None."""
    now = now or dt.datetime.now(dt.UTC)
    ahead = [
        (n, stamp)
        for n, stamp in numbered
        if (t := parse_stamp(stamp)) is not None and t > now + FUTURE_TOLERANCE
    ]
    if not ahead:
        return None
    more = _and_more(ahead, "dated in the future")
    return (
        f"{path}:{ahead[0][0]}: dated {ahead[0][1]}, in the future{more}: a wrong clock or a hand edit; "
        "decisions count by time, so that line outranks every decision made until then: correct its "
        f"timestamp by hand to when it was made (now is {now.isoformat(timespec='seconds')})"
    )


def _and_more(lines: Sequence[object], what: str) -> str:
    """What a message adds after the first of `lines` it names: ' (and N more lines WHAT)'."""
    others = len(lines) - 1
    return f" (and {plural(others, 'more line')} {what})" if others else ""


def unreadable(path: Path, numbered: Sequence[tuple[int, str]]) -> str | None:
    """A warning when lines (line number, timestamp) hold a timestamp that is no date (a hand
    edit): such a line counts as made with the line before it, or None. An empty one is a
    hand-written line's right and says nothing."""
    bad = [(n, stamp) for n, stamp in numbered if stamp.strip() and parse_stamp(stamp) is None]
    if not bad:
        return None
    more = _and_more(bad, "like it")
    return (
        f"{path}:{bad[0][0]}: timestamp {bad[0][1][:40]!r} is no date{more}: the line counts as made "
        "with the line before it, so it may outrank a later decision; write the time it was made "
        "(YYYY-MM-DDTHH:MM:SS+00:00) or leave the cell empty"
    )


def _times(stamps: Sequence[str]) -> list[dt.datetime]:
    out: list[dt.datetime] = []
    for stamp in stamps:
        time = parse_stamp(stamp)
        if time is None:
            time = out[-1] if out else dt.datetime.min.replace(tzinfo=dt.UTC)
        out.append(time)
    return out


@dataclass(frozen=True)
class Appended:
    """What `append_rows` wrote: each row's timestamp as written, and a sentence for the user
    when they had to be moved after a line of the file dated later than this machine's clock."""

    stamps: list[str]
    note: str = ""


def append_rows(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    is_complete: Callable[[list[str]], bool],
    folders: int = 1,
    stamp_column: int | None = None,
) -> Appended:
    """Append `rows` to the log at `path` in one fsynced write, under the file's lock. The last
    `folders` folders of `path` are in the review (labels/, labels/<stage>/): opened without
    following links (names.open_append_beneath).

    With `stamp_column` (a log folded by timestamp), a row is never stamped earlier than the
    latest line already in the file: a decision made now must outrank that line even when it is
    dated ahead of this machine's clock (a clone with a wrong clock, a hand edit), else it is
    silently lost. The stamp is then 1 ms after that line, and `Appended.note` says so."""
    for row in rows:
        for column, cell in zip(header, row, strict=False):
            if len(cell) > MAX_CELL:
                what = "tags" if column == "tags" else f"the {column}"
                raise ScreenerError(
                    f"{what} of {len(cell)} characters {'are' if column == 'tags' else 'is'} too long for "
                    f"a decision file (at most {MAX_CELL})",
                    path=path,
                    hint=f"shorten {what}",
                )
    fd = open_append_beneath(path, folders)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        size = os.fstat(fd).st_size
        rows = [list(row) for row in rows]
        note = ""
        if stamp_column is not None and size:
            note = _stamp_after(path, _latest_stamp(fd, size, stamp_column), rows, stamp_column)
        if size == 0:
            writer.writerow(header)
        else:
            tail = _last_line(fd, size)
            if tail is not None:  # the file does not end with a newline
                try:
                    row, closed = parse_line(tail.rstrip("\r"))
                except csv.Error:
                    row, closed = [tail], False
                comment = tail.lstrip().startswith("#") and closed
                complete = not tail.strip() or comment or (closed and is_complete(row))
                complete = complete and not _damage(tail)
                buffer.write("\n" if complete else f"\n{CUT_MARK}\n")
        for row in rows:
            buffer.write(csv_line([_one_line(cell) for cell in row]))
        data = buffer.getvalue().encode("utf-8")
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    except OSError as exc:
        raise ScreenerError(f"cannot be written ({exc.strerror})", path=path) from None
    finally:
        os.close(fd)
    return Appended([row[stamp_column] if stamp_column is not None else "" for row in rows], note)


# (device, inode, column) -> (bytes read, the last 64 of them, lines read, the latest line so
# far): a log is only appended to, so each append reads the lines added since the last one, not
# the whole file (a 20,000-line file took 70 ms a decision). A file rewritten (another inode, or
# other bytes where the read ended) or shorter than what was read is read again from the start.
_LATEST: dict[tuple[int, int, int], tuple[int, bytes, int, tuple[int, str, dt.datetime] | None]] = {}


def _latest_stamp(fd: int, size: int, column: int) -> tuple[int, str, dt.datetime] | None:
    """The line (number, timestamp as written, parsed) dated latest in the file, or None."""
    info = os.fstat(fd)
    key = (info.st_dev, info.st_ino, column)
    start, seen, count, best = _LATEST.get(key, (0, b"", 0, None))
    if start > size or os.pread(fd, len(seen), start - len(seen)) != seen:
        start, count, best = 0, 0, None  # not the file read before: read it whole
    text = os.pread(fd, size - start, start).decode("utf-8", "surrogateescape")
    lines = split_lines(text)
    complete = lines[:-1]  # the last item is "" after a line end, else a line still being cut
    for number, line in enumerate(complete, count + 1):
        try:
            cells = parse_line(line)[0]
        except csv.Error:
            continue
        if len(cells) <= column:
            continue
        time = parse_stamp(cells[column])
        if time is not None and (best is None or time > best[2]):
            best = (number, cells[column].strip(), time)
    tail = lines[-1]
    if tail:  # a last line without its end: counted now, read again next time
        try:
            cells = parse_line(tail)[0]
        except csv.Error:
            cells = []
        time = parse_stamp(cells[column]) if len(cells) > column else None
        if time is not None and (best is None or time > best[2]):
            return count + len(complete) + 1, cells[column].strip(), time
    end = size - len(tail.encode("utf-8", "surrogateescape"))
    _LATEST[key] = (end, os.pread(fd, min(64, end), end - min(64, end)), count + len(complete), best)
    return best


def _stamp_after(
    path: Path, latest: tuple[int, str, dt.datetime] | None, rows: list[list[str]], column: int
) -> str:
    """Move each row's stamp (in place) to 1 ms after the latest one before it, file first;
    a sentence saying so when any moved, else ""."""
    if latest is None:
        return ""
    floor, moved = latest[2], ""
    for row in rows:
        time = parse_stamp(row[column])
        # A tie is no clock behind: the line comes last in the file, and ties go by file order
        # (two decisions within one millisecond are common, and said nothing wrong).
        if time is None or time < floor:
            try:
                time = floor + dt.timedelta(milliseconds=1)
            except OverflowError:
                raise ScreenerError(
                    f"is dated {shown(latest[1])}, so late that no decision can be dated after it",
                    path=path,
                    line=latest[0],
                    hint="correct that line's timestamp by hand to when it was made",
                ) from None
            moved = moved or row[column]
            row[column] = time.astimezone(dt.UTC).isoformat(timespec="milliseconds")
        floor = time
    if not moved:
        return ""
    return (
        f"this machine's clock ({moved}) is behind line {latest[0]} of {path} (dated {shown(latest[1])}): "
        "the decision is stamped just after it so that it counts; 'screener check' names lines dated "
        "in the future"
    )


def parse_stamp(stamp: str) -> dt.datetime | None:
    """A log's timestamp as an aware time (UTC when it names no offset), None when unreadable."""
    try:
        time = dt.datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    return time if time.tzinfo else time.replace(tzinfo=dt.UTC)


def _one_line(cell: str) -> str:
    """A cell on one line (the tail check reads lines) and without control characters (an
    escape sequence in a note would act on the terminal of whoever reads the file)."""
    return "".join(" " if (ord(c) < 32 and c != "\t") or 127 <= ord(c) < 160 else c for c in cell)


def _last_line(fd: int, size: int) -> str | None:
    """The file's last line when it does not end with a newline, else None."""
    start = max(0, size - MAX_LINE)
    tail = os.pread(fd, size - start, start)
    if tail.endswith((b"\n", b"\r")):
        return None
    return split_lines(tail.decode("utf-8", "surrogateescape"))[-1]
