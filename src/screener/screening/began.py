"""What each reviewer's ranking held when they began a round: `labels/began/<reviewer>.csv`.

The stopping rule judges apart the records that came after a round's screening began (see
`late_arrivals`): they were in none of the ranking its curve comes from. Import times alone
cannot tell that across clones: an export imported in one clone before a teammate's first
decision in another, and merged later, was never in the teammate's ranking, yet its import time
says it came first. So a reviewer's first title-abstract decision of each round writes one line:
the round, that decision's time, and the exports the review held then (the first 16 hex digits
of each one's sha256). An export of that round missing from a reviewer's line came after they
began, whatever the clocks say.

One file per reviewer, append-only, merged by git's union merge like the decision files (the
review's .gitattributes covers `labels/**/*.csv`): one reviewer on two machines may leave two
lines for a round, and an export must be in both to count as held. A line that is no such line
is skipped (`screener check` warns of it); a missing file says nothing, as before.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ScreenerError

COLUMNS = ("round", "timestamp", "exports")
STAGE = "title-abstract"  # the stage the stopping rule speaks at
SHA_DIGITS = 16


def began_path(labels_dir: Path, reviewer: str) -> Path:
    """labels/began/<reviewer>.csv, the names checked and no symlink on the way."""
    from ..names import check_name, inside

    name = check_name(reviewer, "reviewer name")
    return inside(labels_dir.parent, "labels", "began", f"{name}.csv", what="labels")


def _is_line(row: list[str]) -> bool:
    return len(row) == len(COLUMNS) and row[0].strip().isdigit() and bool(row[1].strip())


def held_exports(review) -> list[str]:  # noqa: ANN001 - Review
    """The exports the review holds now, as a line names them."""
    return sorted({f.sha256[:SHA_DIGITS] for search in review.searches() for f in search.files})


def note_began(review, reviewer: str, stage: str, stamp: str) -> None:  # noqa: ANN001 - Review
    """Write the line for the review's current round unless the reviewer's file has one: called
    after a decision stamped `stamp` was written. Other stages write nothing."""
    if stage != STAGE:
        return
    from ..applog import MAX_CELL, append_rows, read_rows

    path = began_path(review.labels_dir, reviewer)
    number = str(review.current_round())
    lines = read_rows(path, COLUMNS[0], _is_line).rows
    if any(_is_line(row) and row[0].strip() == number for _, row in lines):
        return
    exports = " ".join(held_exports(review))
    if len(exports) > MAX_CELL:  # over a thousand exports: the import times judge alone
        return
    append_rows(path, COLUMNS, [[number, stamp, exports]], _is_line, folders=2)


def read_began(labels_dir: Path) -> tuple[dict[int, list[tuple[float, frozenset[str]]]], list[str]]:
    """Every reviewer's lines: round -> [(the first decision's time, the exports held)], and a
    warning per file or line that could not be read (skipped: the import times judge alone)."""
    from ..applog import parse_stamp, read_rows
    from ..names import check_name

    folder = labels_dir / "began"
    out: dict[int, list[tuple[float, frozenset[str]]]] = {}
    warnings: list[str] = []
    if not folder.is_dir() or folder.is_symlink():
        return out, warnings
    for path in sorted(folder.iterdir()):
        where = f"labels/began/{path.name}"
        if path.suffix != ".csv" or path.is_symlink() or not path.is_file():
            continue
        try:
            check_name(path.stem, "reviewer name")
            log = read_rows(path, COLUMNS[0], _is_line)
        except ScreenerError as exc:
            warnings.append(f"{where}: skipped ({exc.message})")
            continue
        for number, row in log.rows:
            when = parse_stamp(row[1].strip()) if _is_line(row) else None
            exports = row[2].split() if when is not None else []
            if when is None or not all(len(e) == SHA_DIGITS for e in exports) or not exports:
                warnings.append(
                    f"{where}, line {number}: not a line of round,timestamp,exports; skipped "
                    "(restore the file from git)"
                )
                continue
            out.setdefault(int(row[0]), []).append((when.timestamp(), frozenset(exports)))
    return out, warnings


def came_after(labels_dir: Path, rounds_of: dict[str, int]) -> dict[str, float]:
    """Each export (sha256 -> its round) that some reviewer began its round without: the
    earliest such beginning's time, a moment it came after. An export a later round brought is
    judged by that round's lines; a round nobody wrote a line for says nothing."""
    began, _ = read_began(labels_dir)
    out: dict[str, float] = {}
    for sha256, number in rounds_of.items():
        key = sha256[:SHA_DIGITS]
        without = [when for when, held in began.get(number, ()) if key not in held]
        if without:
            out[sha256] = min(without, default=math.inf)
    return out
