"""Recording decisions from scripts and importing decisions made elsewhere."""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ScreenerError
from .decisions import DECISIONS, Decision, DecisionLog, decision_path, normalise_tags, now_stamp

# What one row of an imported table says of its record: two rows on one record must agree.
_SAID = ("decision", "reason", "note", "tags")

# Words other tools use for decisions.
_DECISION_WORDS = {
    "include": "include",
    "included": "include",
    "yes": "include",
    "1": "include",
    "relevant": "include",
    "exclude": "exclude",
    "excluded": "exclude",
    "no": "exclude",
    "0": "exclude",
    "irrelevant": "exclude",
    "maybe": "maybe",
    "unsure": "maybe",
    "undecided": "undecided",
    "not-retrieved": "not-retrieved",
    "not retrieved": "not-retrieved",
}


def _check_reviewer(review, reviewer: str) -> None:  # noqa: ANN001
    from ..review import check_reviewer

    check_reviewer(review, reviewer)  # a screener or the resolver: the same check as every command


def _known_form(record_id: str, known: set[str], member_of: dict[str, str]) -> str:
    """Ids as other tools write them: a bare PMID ("16511671") or an upper-case prefix
    ("PMID:16511671", "DOI:10.1/X") is taken as screener's id when that names a record."""
    candidates = [record_id]
    prefix, sep, rest = record_id.partition(":")
    if sep and prefix.lower() in ("pmid", "doi"):
        candidates.append(f"{prefix.lower()}:{rest.lower() if prefix.lower() == 'doi' else rest}")
    if record_id.isdigit():
        candidates.append(f"pmid:{record_id}")
    for candidate in candidates:
        if candidate in known or member_of.get(candidate) in known:
            return candidate
    return record_id


def _resolver_target_check(review, view, member_of: dict[str, str], reviewer: str):  # noqa: ANN001, ANN202
    """A check of each answer (record_id, decision) of `reviewer`: a resolver answers conflicts
    only, since an answer on a record not in conflict would settle nothing now, and would
    silently settle the conflict its screeners might create later. What it reads is gathered
    once, for an import of many rows."""
    roles = {r.name: r.role for r in review.config.reviewers}
    known = set(view.record_ids)
    disputed = view.waiting()["conflicts"]

    def check(record_id: str, decision: str) -> None:
        if roles.get(reviewer) != "resolver" or decision == "undecided":
            return
        study = member_of.get(record_id, record_id)
        settled_by_resolver = study in view.final and view.final[study].by == reviewer
        if study in known and study not in disputed and not settled_by_resolver:
            raise ScreenerError(
                f"{record_id} is not in conflict at {view.stage}: a resolver's answer would settle nothing",
                hint="'screener conflicts' lists what the resolver decides",
            )

    return check


def _check_resolver_answer(review, reviewer: str, decision: str) -> None:  # noqa: ANN001
    """A resolver settles a conflict: include or exclude (or not retrieved), never maybe."""
    roles = {r.name: r.role for r in review.config.reviewers}
    if roles.get(reviewer) == "resolver" and decision == "maybe":
        raise ScreenerError(
            f"{reviewer} is the resolver: a resolver's answer is include or exclude, not maybe",
            hint="a maybe settles nothing; decide include (on to the next stage) or exclude",
        )


def _check_reason(review, stage: str, decision: str, reason: str, given: str = "--reason") -> None:  # noqa: ANN001
    """A full-text exclusion's reason must be one of review.toml's; `given` names where the
    reason came from (the option, or an imported file's column), since that is what to fix."""
    reasons = review.config.exclusion_reasons
    if stage == "full-text" and decision == "exclude":
        if not reason:
            raise ScreenerError(f"a full-text exclusion needs {given}", hint=f"one of: {'; '.join(reasons)}")
        if reason not in reasons:
            # Compared without case: 'wrong outcomes' is most likely 'Wrong outcomes'.
            folded = {r.casefold(): r for r in reasons}
            close = difflib.get_close_matches(reason.casefold(), list(folded), n=1, cutoff=0.6)
            mean = f"did you mean {folded[close[0]]!r}? " if close else ""
            raise ScreenerError(
                f"{given} {reason[:80]!r} is not one of this review's exclusion reasons",
                hint=f"{mean}one of: {'; '.join(reasons)} (review.toml's [full_text] exclusion_reasons)",
            )


def record_decision(
    review,
    reviewer: str,
    stage: str,
    record_id: str,
    decision: str,  # noqa: ANN001
    reason: str = "",
    note: str = "",
    tags: str = "",
) -> Decision:
    from . import load_stage, review_studies

    _check_reviewer(review, reviewer)
    if decision not in DECISIONS:
        raise ScreenerError(f"decision must be one of {', '.join(DECISIONS)}")
    if decision == "not-retrieved" and stage != "full-text":
        raise ScreenerError("'not-retrieved' is a full-text decision")
    _check_resolver_answer(review, reviewer, decision)
    _check_reason(review, stage, decision, reason)
    studies, member_of = review_studies(review)  # deduplicated once, for the stage and the ids
    view = load_stage(review, stage, studies, member_of)
    known = set(view.record_ids)
    log = DecisionLog.for_reviewer(review, stage, reviewer, view)
    _resolver_target_check(review, view, member_of, reviewer)(record_id, decision)
    if record_id not in known and member_of.get(record_id) not in known:
        # A decision on an id that is no record (a typo, a search since removed) can always be
        # taken back: that is how 'screener check' tells you to clear it.
        retracting = decision == "undecided" and any(d.record_id == record_id for d in log.read())
        if not retracting:
            if record_id in member_of:
                raise ScreenerError(
                    f"{record_id!r} has not reached the {stage} stage (it is not finally included at "
                    "title-abstract yet)",
                    hint="'screener conflicts' and 'screener status' show what title-abstract still needs",
                )
            raise ScreenerError(
                f"no record {record_id!r} at the {stage} stage",
                hint="see 'screener status'; ids look like pmid:123 or doi:10.1/x",
            )
    return log.append(record_id, decision, reason, note, tags)


def _unmatched(ids: list[str], member_of: dict[str, str], stage: str) -> str:
    """The ids that matched no record of the stage, told apart: records of the review that have
    not reached this stage (full text holds only the records included at title-abstract), and
    ids that are no record at all. Cleaned for the terminal: they come from a file."""
    from ..records import clean_text

    def some(found: list[str]) -> str:
        return ", ".join(map(clean_text, found[:5])) + (" ..." if len(found) > 5 else "")

    earlier = [i for i in ids if i in member_of]
    missing = [i for i in ids if i not in member_of]
    parts = []
    if earlier:
        parts.append(
            f"{len(earlier)} have not reached the {stage} stage (not finally included at "
            f"title-abstract yet): {some(earlier)}"
        )
    if missing:
        parts.append(f"not in the review: {some(missing)}")
    return "; ".join(parts)


@dataclass
class ImportedDecisions:
    """What `label --import` read and wrote."""

    rows: int  # data rows in the file
    matched: int  # rows whose id is a record at this stage
    written: int
    unknown_ids: list[str] = field(default_factory=list)  # skipped (only with skip_unknown)
    path: Path | None = None  # the decision file appended to
    clock_note: str = ""  # said when this machine's clock was behind a line of that file


_EXCEL_SEP = re.compile(r"sep=([,;\t|])", re.IGNORECASE)


def _delimiter(header: str) -> str:
    """The delimiter of a header line: of comma, semicolon and tab, the one found most often
    outside quotes (a quoted column name may hold the others); a comma on a tie."""
    counts = dict.fromkeys((",", ";", "\t"), 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(counts, key=counts.__getitem__)


# An export of decisions is a small table; a bigger file is not one.
MAX_IMPORT_BYTES = 200 << 20


def import_decisions(
    review,  # noqa: ANN001
    reviewer: str,
    stage: str,
    path: Path,
    *,
    skip_unknown: bool = False,
) -> ImportedDecisions:
    """Append decisions from a CSV (record_id + decision columns; reason and note optional).

    The whole file is read and checked first: its encoding, every row's id (present, and a
    record at this stage), decision word and reason. Anything wrong and nothing is written,
    except that ids not in the review are skipped when `skip_unknown` says so. Every row is
    then appended in one fsynced write.
    """
    from ..names import read_regular_bytes
    from ..textio import decode_bytes
    from . import load_stage, review_studies

    _check_reviewer(review, reviewer)
    target = decision_path(review.labels_dir, stage, reviewer)
    try:
        text, _ = decode_bytes(read_regular_bytes(Path(path), limit=MAX_IMPORT_BYTES, follow=True), path)
    except ScreenerError as exc:  # the decoder's hint speaks of exports
        hint = "give a CSV of record_id and decision columns"
        raise ScreenerError(exc.message, path=path, hint=hint) from None
    text = text.lstrip("\ufeff")
    from ..applog import split_lines

    first = split_lines(text)[0]
    excel_sep = _EXCEL_SEP.fullmatch(first.strip())  # Excel's "sep=;" line names the delimiter
    delimiter = excel_sep.group(1) if excel_sep else _delimiter(first)
    # newline="": the csv module ends lines at \r\n, \n or \r, as the decision files are read.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    numbered: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            numbered.append((reader.line_num, row))
    except csv.Error as exc:
        raise ScreenerError(f"is not a readable CSV file ({exc})", path=path, line=reader.line_num) from None
    if excel_sep:
        numbered = numbered[1:]  # line numbers stay those of the file
    rows = [row for _, row in numbered]
    names = [c.strip().lower() for c in (rows[0] if rows else [])]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise ScreenerError(
            f"names the column {repeated[0]!r} twice: which one holds the decisions is unclear",
            path=path,
            line=1,
            hint="keep one column of each name",
        )
    columns = {name: i for i, name in enumerate(names)}
    id_column = next((columns[c] for c in ("record_id", "id", "key") if c in columns), None)
    decision_column = next(
        (columns[c] for c in ("decision", "label", "included", "label_included") if c in columns), None
    )
    if id_column is None or decision_column is None:
        raise ScreenerError(
            "needs a record_id column and a decision column",
            path=path,
            line=1,
            hint=f"the first line names the columns; found: {', '.join(rows[0][:10]) if rows else 'nothing'}",
        )
    reason_column, note_column, tags_column = columns.get("reason"), columns.get("note"), columns.get("tags")
    studies, member_of = review_studies(review)
    view = load_stage(review, stage, studies, member_of)
    known = set(view.record_ids)
    check_target = _resolver_target_check(review, view, member_of, reviewer)
    entries: list[Decision] = []
    unknown: list[str] = []
    data_rows = 0
    first_said: dict[str, tuple[int, dict[str, str]]] = {}  # study -> (line, what its first row says)
    width = max(id_column, decision_column)
    for number, row in numbered[1:]:
        if not any(cell.strip() for cell in row):
            continue
        data_rows += 1
        if len(row) <= width:
            raise ScreenerError(
                f"has {len(row)} cells; the id and decision columns need {width + 1}",
                path=path,
                line=number,
                hint="every row needs a record id and a decision",
            )
        record_id = row[id_column].strip()
        if not record_id:
            raise ScreenerError("has no record id", path=path, line=number, hint="fill it in or drop the row")
        if any(char in record_id for char in "\r\n\x00"):
            raise ScreenerError(f"record id {record_id[:40]!r} has a line break", path=path, line=number)
        word = row[decision_column].strip().lower()
        decision = _DECISION_WORDS.get(word)
        if decision is None:
            raise ScreenerError(
                f"unknown decision {word[:40]!r}",
                path=path,
                line=number,
                hint="use include, exclude, maybe, undecided (or yes/no, 1/0)",
            )
        if decision == "not-retrieved" and stage != "full-text":
            raise ScreenerError("'not-retrieved' is a full-text decision", path=path, line=number)
        reason = row[reason_column].strip() if reason_column is not None and reason_column < len(row) else ""
        note = row[note_column].strip() if note_column is not None and note_column < len(row) else ""
        tags = row[tags_column].strip() if tags_column is not None and tags_column < len(row) else ""
        try:
            _check_resolver_answer(review, reviewer, decision)
            _check_reason(review, stage, decision, reason, given="reason")
        except ScreenerError as exc:
            raise ScreenerError(exc.message, path=path, line=number, hint=exc.hint) from None
        record_id = _known_form(record_id, known, member_of)
        if record_id not in known and member_of.get(record_id) not in known:
            unknown.append(record_id)
            continue
        try:
            check_target(record_id, decision)
        except ScreenerError as exc:
            raise ScreenerError(exc.message, path=path, line=number, hint=exc.hint) from None
        # All rows are stamped alike: two decisions on one record would leave the file's order
        # to pick, silently.
        study = member_of.get(record_id, record_id)
        said = dict(zip(_SAID, (decision, reason, note, normalise_tags(tags)), strict=True))
        earlier_line, earlier = first_said.setdefault(study, (number, said))
        differs = next((name for name in _SAID if said[name] != earlier[name]), None)
        if differs is not None:
            raise ScreenerError(
                f"gives {record_id[:80]!r} the {differs} {said[differs][:60]!r}, but line {earlier_line} "
                f"gives {'it' if study == record_id else 'a copy of it'} {earlier[differs][:60]!r}; "
                "nothing was written",
                path=path,
                line=number,
                hint="one record, one decision: keep the row you mean",
            )
        entries.append(Decision(record_id, decision, reason, note, now_stamp(), tags=normalise_tags(tags)))
    if not data_rows:
        raise ScreenerError("holds no decisions", path=path, hint="a line naming the columns, then rows")
    if unknown and not skip_unknown:
        raise ScreenerError(
            f"{len(entries)} of {data_rows} ids matched a record at the {stage} stage; "
            f"{_unmatched(unknown, member_of, stage)}; nothing was written",
            path=path,
            hint="ids look like pmid:123, doi:10.1/x or SEARCH:ROW (see 'screener export'); pass "
            "--skip-unknown to import the matched rows only",
        )
    log = DecisionLog.for_reviewer(review, stage, reviewer, view)
    note = log.append_many(entries)[0].clock_note if entries else ""
    return ImportedDecisions(data_rows, len(entries), len(entries), unknown, target, note)
