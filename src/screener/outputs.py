"""Files the user names on the command line: `export -o`, `prisma --diagram`, `simulate --plot`
and `--orders-out`, `dedup --output` and `--pairs-out`.

Each is written where asked, atomically (a reader never sees half a file), or refused in one
line: a folder that does not exist is not created (a typo in a path should not make folders),
a folder given where a file is meant and a file that cannot be written are errors naming the
path. A symbolic link is never written through (one committed to a review could point at a
device, a FIFO or anyone's file). Commands check their output paths before any work, so a bad
path costs nothing.

CSV meant to be opened by a person in a spreadsheet goes through `safe_cell`; the review's own
files (labels/*.csv) never do: they keep exactly what the reviewer typed.
"""

from __future__ import annotations

import errno
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ScreenerError

FIGURE_SUFFIXES = (".svg", ".png", ".pdf")
LINK_REFUSED = "is a symbolic link; screener never writes an output through a link"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote
    (OWASP's advice for CSV injection), so =HYPERLINK(...) in a title never runs. Numbers the
    tool computed (a score of -1.0) stay numbers; text that looks like one does not."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_line(cells: Sequence[str]) -> str:
    """One CSV line, as the csv module writes it, and a cell starting with `#` quoted too: ids
    are data, and a reader that skips `#` lines as comments (R's read.table, pandas with
    comment="#") must not skip a record whose id starts with one. A line break in a cell is
    quoted as well."""
    if len(cells) == 1 and not cells[0]:
        return '""\n'
    return ",".join(_quoted(cell) for cell in cells) + "\n"


def _quoted(cell: str) -> str:
    if cell.startswith("#") or any(char in cell for char in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def people_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV for a spreadsheet: a header, then each row's cells through `safe_cell`."""
    lines = [csv_line([safe_cell(c) for c in columns])]
    lines.extend(csv_line([safe_cell(row.get(c, "")) for c in columns]) for row in rows)
    return "".join(lines)


def _check_folder(folder: Path, path: Path) -> None:
    if not folder.exists():
        raise ScreenerError(
            f"the folder {folder} does not exist", path=path, hint="create it first, or write elsewhere"
        )
    if not folder.is_dir():
        raise ScreenerError(f"{folder} is not a folder", path=path)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ScreenerError(f"cannot be written (no permission to write in {folder})", path=path)


def finite(value: Any) -> Any:
    """Strict JSON: an undefined number (kappa with no overlap) is null, never NaN; for every
    command's --json and the report's numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def check_output_file(path: Path, suffixes: Sequence[str] = (), special: bool = True) -> Path:
    """`path` as a file to write: its folder exists and can be written, it is not a folder
    (and it ends in one of `suffixes`, when given). Raises ScreenerError otherwise.

    A symbolic link is refused: a link committed to a review (report.html -> /dev/sda, a FIFO,
    someone's file) would take the output wherever it points. A FIFO or device that is no link
    was made on this machine, by its user: it is written to when `special` (the user named it:
    `-o /dev/null`), refused when not (a default name such as report.html)."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        allowed = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        raise ScreenerError(f"must end in {allowed} (the name sets the format)", path=path)
    if path.is_symlink():
        raise ScreenerError(
            LINK_REFUSED,
            path=path,
            hint="remove the link (git rm it if committed), or name another file",
        )
    if not special and path.exists() and not path.is_file() and not path.is_dir():
        raise ScreenerError(
            "is a named pipe or a device, not a regular file",
            path=path,
            hint="remove it, or name another file",
        )
    if path.is_dir():
        raise ScreenerError("is a folder; name a file to write", path=path)
    _check_folder(path.parent, path)
    _refuse_review_files(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise ScreenerError("cannot be written (permission denied)", path=path)
    if path.is_file() and not path.stat().st_mode & 0o222:
        # Root may write anything; a file nobody may write is still kept as its owner set it.
        raise ScreenerError("is read-only", path=path, hint="name another file, or chmod u+w it first")
    return path


REVIEW_FOLDERS = ("searches", "labels", "allocation", "fulltext")


def _refuse_review_files(path: Path) -> None:
    """An output never replaces a review's own records: its review.toml, a file in searches/,
    labels/ or allocation/ (`export -o labels/title-abstract/alice.csv` would wipe alice's
    decisions). Every review.toml above the path counts, not only the nearest: a review.toml
    committed into labels/ must not make labels/ look like a review of its own."""
    target = path.parent.resolve() / path.name
    for folder in (target.parent, *target.parent.parents):
        if (folder / "review.toml").is_file():
            inside = target.relative_to(folder).parts
            if inside == ("review.toml",) or inside[0] in REVIEW_FOLDERS:
                raise ScreenerError(
                    "is in the review's own files (review.toml, searches/, labels/, allocation/, fulltext/); "
                    "outputs go elsewhere",
                    path=path,
                    hint="name a file outside them, e.g. -o included.ris",
                )


def prepare_output_folder(path: Path) -> Path:
    """`path` as a folder to write files into: made when missing, but only inside a folder
    that exists."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ScreenerError("is a file; name a folder to write into", path=path)
    _check_folder(path.parent, path)
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise ScreenerError(f"cannot be made ({exc.strerror or exc})", path=path) from None
    _check_folder(path, path)
    return path


def write_output(path: Path, data: bytes | str, special: bool = True) -> None:
    """Write a file the user named, atomically; any failure is a one-line ScreenerError
    (`special`: see check_output_file)."""
    from .textio import atomic_write_bytes

    path = check_output_file(path, special=special)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.exists() and not path.is_file():
            # /dev/null, a FIFO: written to, never replaced (a rename over a device
            # node would turn it into a plain file for everyone on the machine).
            # Non-blocking open: a FIFO nobody reads is refused at once instead of hanging.
            # O_NOFOLLOW: a link swapped in since the check is refused (ELOOP), not followed.
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
            try:
                os.set_blocking(fd, True)
                with os.fdopen(fd, "wb", closefd=False) as handle:
                    handle.write(payload)
            finally:
                os.close(fd)
        else:
            atomic_write_bytes(path, payload)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ScreenerError(LINK_REFUSED, path=path) from None
        if exc.errno == errno.ENXIO:
            raise ScreenerError(
                "is a pipe that no program is reading", path=path, hint="start its reader first"
            ) from None
        raise ScreenerError(f"cannot be written ({exc.strerror or exc})", path=path) from None


def save_figure(figure: Any, path: Path, **options: Any) -> None:
    """Save a matplotlib figure where the user asked (format from the suffix), atomically."""
    path = check_output_file(path, FIGURE_SUFFIXES)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lower()[1:], **options)
    write_output(path, buffer.getvalue())
