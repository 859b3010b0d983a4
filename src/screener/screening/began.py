"""What each reviewer's ranking held when they began a round: `labels/began/<reviewer>.csv`.

The stopping rule judges apart the records that came after a round's screening began (see
`late_arrivals`): they were in none of the ranking its curve comes from. Import times alone
cannot tell that across clones: an export imported in one clone before a teammate's first
decision in another, and merged later, was never in the teammate's ranking, yet its import time
says it came first. So a reviewer's first title-abstract decision of each round writes one line:
the round, that decision's time, and the exports the review held then (the first 16 hex digits
of each one's sha256). An export of that round missing from a reviewer's line came after they
began, whatever the clocks say: on their curve (each screener's stopping rule reads their own
decisions), a study every copy of which is in such exports is judged apart. Teammates who each
import and screen their own database first each judge the other's apart.

One file per reviewer, append-only, merged by git's union merge like the decision files (the
review's .gitattributes covers `labels/**/*.csv`): one reviewer on two machines may leave two
lines for a round, and an export must be in both to count as held. A line that is no such line
is skipped (`screener check` warns of it); a missing file says nothing, as before.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ..errors import ScreenerError

COLUMNS = ("round", "timestamp", "exports")
STAGE = "title-abstract"  # the stage the stopping rule speaks at
SHA_DIGITS = 16
_ROUND = re.compile(r"[1-9][0-9]{0,5}")  # ASCII digits only: int() takes '١' and str.isdigit '²'
_EXPORT = re.compile(f"[0-9a-f]{{{SHA_DIGITS}}}")


def began_path(labels_dir: Path, reviewer: str) -> Path:
    """labels/began/<reviewer>.csv, the names checked and no symlink on the way."""
    from ..names import check_name, inside

    name = check_name(reviewer, "reviewer name")
    return inside(labels_dir.parent, "labels", "began", f"{name}.csv", what="labels")


def _is_line(row: list[str]) -> bool:
    return len(row) == len(COLUMNS) and bool(_ROUND.fullmatch(row[0].strip())) and bool(row[1].strip())


def listed_rounds(review) -> dict[str, int]:  # noqa: ANN001 - Review
    """Each export the review lists (sha256) and its round: the round whose lines judge it."""
    out: dict[str, int] = {}
    for search in review.searches():
        for f in search.files:
            out[f.sha256] = min(f.round, out.get(f.sha256, f.round))
    return out


def held_now(review) -> tuple[int, str]:  # noqa: ANN001 - Review
    """The review's current round and the exports it holds now, as a line names them: what a
    screen takes at its start, since its ranking holds those whatever a pull adds meanwhile."""
    return review.current_round(), " ".join(sorted({sha256[:SHA_DIGITS] for sha256 in listed_rounds(review)}))


def note_began(  # noqa: ANN001 - Review
    review,
    reviewer: str,
    stage: str,
    stamp: str,
    held: tuple[int, str] | None = None,
    rounds: list[int] | None = None,
) -> None:
    """Write a line for each of `rounds` (default: the current one) the reviewer's file has none
    for: called after a decision stamped `stamp` was written, the rounds being those on none of
    whose studies they had decided (a line written after their curve of a round began, say in a
    review screened before these lines existed, would say the exports that came since were held
    from the start: DecisionLog.for_reviewer asks for none then, and the import times judge, as
    before). `held`: held_now's answer when the decision's ranking was made (the screen's
    start), else the review now. Other stages write nothing."""
    if stage != STAGE:
        return
    from ..applog import MAX_CELL, append_rows, read_rows

    number, exports = held or held_now(review)
    path = began_path(review.labels_dir, reviewer)
    written = {int(row[0]) for _, row in read_rows(path, COLUMNS[0], _is_line).rows if _is_line(row)}
    wanted = [n for n in (rounds if rounds is not None else [number]) if n not in written]
    if not wanted or len(exports) > MAX_CELL:  # over a thousand exports: the import times judge
        return
    append_rows(path, COLUMNS, [[str(n), stamp, exports] for n in wanted], _is_line, folders=2)


def read_began(
    labels_dir: Path, reviewers: set[str] | None = None, rounds: set[int] | None = None
) -> tuple[dict[str, dict[int, list[tuple[float, frozenset[str]]]]], list[str]]:
    """Every reviewer's lines: reviewer -> round -> each line's time and the exports it held, and a warning
    per file or line that could not be read (skipped: the import times judge alone), and, when
    given, per file of a name not in `reviewers`, per line of a round not in `rounds` and per
    line dated ahead of this machine's clock (what `screener check` says)."""
    from ..applog import FUTURE_TOLERANCE, parse_stamp, read_rows
    from ..names import check_name

    now = dt.datetime.now(dt.UTC)

    folder = labels_dir / "began"
    out: dict[str, dict[int, list[tuple[float, frozenset[str]]]]] = {}
    warnings: list[str] = []
    if folder.is_symlink():
        return out, warnings  # named by check's link check
    if folder.exists() and not folder.is_dir():
        return out, ["labels/began is no folder: screener notes there what each ranking held (delete it)"]
    if not folder.is_dir():
        return out, warnings
    for path in sorted(folder.iterdir()):
        where = f"labels/began/{path.name}"
        if path.is_symlink():
            continue  # named by check's link check
        if not path.is_file():
            warnings.append(f"{where} is no regular file; delete it (the import times then judge)")
            continue
        if path.suffix != ".csv":
            continue
        try:
            check_name(path.stem, "reviewer name")
            log = read_rows(path, COLUMNS[0], _is_line)
        except ScreenerError as exc:
            warnings.append(f"{where}: skipped ({exc.message})")
            continue
        warnings.extend(log.skipped)  # a line cut by an interrupted write, or an unclosed quote
        if reviewers is not None and path.stem not in reviewers:
            warnings.append(f"{where}: {path.stem!r} is no reviewer in review.toml; the file says nothing")
        lines = out.setdefault(path.stem, {})
        for number, row in log.rows:
            when = parse_stamp(row[1].strip()) if _is_line(row) else None
            exports = row[2].split() if when is not None else []
            if not exports or not all(_EXPORT.fullmatch(e) for e in exports):
                warnings.append(
                    f"{where}, line {number}: not a line of round,timestamp,exports; skipped "
                    "(restore the file from git)"
                )
                continue
            round_number = int(row[0])
            if rounds is not None and round_number not in rounds:
                warnings.append(f"{where}, line {number}: round {round_number} is no round of the review")
            if rounds is not None and when is not None and when > now + FUTURE_TOLERANCE:
                said = row[1].strip()[:40]
                warnings.append(f"{where}, line {number}: dated {said}, in the future (a wrong clock?)")
            lines.setdefault(round_number, []).append((when.timestamp(), frozenset(exports)))
    return out, warnings


def not_held(
    labels_dir: Path,
    rounds_of: dict[str, int],
    lines_of: dict[str, dict[int, tuple[float, frozenset[str]]]] | None = None,
) -> dict[str, frozenset[str]]:
    """Per reviewer, the exports (sha256, with their rounds: listed_rounds) they began their
    round without: in none of their ranking when their curve for that round began, whatever
    the import times say. Reviewers whose lines miss nothing are left out (most reviews: all).
    `lines_of`: held_by_round's answer when the caller has it."""
    out: dict[str, frozenset[str]] = {}
    for reviewer, lines in (held_by_round(labels_dir) if lines_of is None else lines_of).items():
        missing = frozenset(
            sha256
            for sha256, number in rounds_of.items()
            if number in lines and sha256[:SHA_DIGITS] not in lines[number][1]
        )
        if missing:
            out[reviewer] = missing
    return out


def held_by_round(labels_dir: Path) -> dict[str, dict[int, tuple[float, frozenset[str]]]]:
    """Per reviewer and round, their earliest line's time and the exports in every one of their
    lines for it (two machines may each have written one): what their ranking surely held when
    they began it."""
    return {
        reviewer: {
            number: (min(when for when, _ in lines), frozenset.intersection(*(held for _, held in lines)))
            for number, lines in rounds.items()
        }
        for reviewer, rounds in read_began(labels_dir)[0].items()
    }
