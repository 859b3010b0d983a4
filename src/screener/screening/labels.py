"""Recording decisions from scripts and importing decisions made elsewhere."""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import ScreenerError
from .decisions import DECISIONS, Decision, DecisionLog, decision_path, now_stamp

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
    names = [r.name for r in review.config.reviewers]
    if reviewer not in names:
        raise ScreenerError(
            f"{reviewer!r} is not a reviewer of this review",
            path=review.config_path,
            hint=f"reviewers are: {', '.join(names) or 'none'}; add [[reviewers]] to review.toml",
        )


def _check_reason(review, stage: str, decision: str, reason: str) -> None:  # noqa: ANN001
    reasons = review.config.exclusion_reasons
    if stage == "full-text" and decision == "exclude":
        if not reason:
            raise ScreenerError("a full-text exclusion needs --reason", hint=f"one of: {'; '.join(reasons)}")
        if reason not in reasons:
            raise ScreenerError(
                f"{reason!r} is not an exclusion reason of this review",
                path=review.config_path,
                hint=f"one of: {'; '.join(reasons)}",
            )


def record_decision(
    review,
    reviewer: str,
    stage: str,
    record_id: str,
    decision: str,  # noqa: ANN001
    reason: str = "",
    note: str = "",
) -> Decision:
    from . import load_stage, review_studies

    _check_reviewer(review, reviewer)
    if decision not in DECISIONS:
        raise ScreenerError(f"decision must be one of {', '.join(DECISIONS)}")
    if decision == "not-retrieved" and stage != "full-text":
        raise ScreenerError("'not-retrieved' is a full-text decision")
    _check_reason(review, stage, decision, reason)
    studies, member_of = review_studies(review)  # deduplicated once, for the stage and the ids
    known = set(load_stage(review, stage, studies, member_of).record_ids)
    if record_id not in known and member_of.get(record_id) not in known:
        raise ScreenerError(
            f"no record {record_id!r} at the {stage} stage",
            hint="see 'screener status'; ids look like pmid:123 or doi:10.1/x",
        )
    return DecisionLog(decision_path(review.labels_dir, stage, reviewer)).append(
        record_id, decision, reason, note
    )


def import_decisions(review, reviewer: str, stage: str, path: Path) -> int:  # noqa: ANN001
    """Append decisions from a CSV (record_id + decision columns; reason and note optional).

    The whole file is checked before anything is written.
    """
    _check_reviewer(review, reviewer)
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    columns = {c.strip().lower(): c for c in reader.fieldnames or []}
    id_column = next((columns[c] for c in ("record_id", "id", "key") if c in columns), None)
    decision_column = next(
        (columns[c] for c in ("decision", "label", "included", "label_included") if c in columns), None
    )
    if not id_column or not decision_column:
        raise ScreenerError("needs a record_id column and a decision column", path=path, line=1)
    entries = []
    for number, row in enumerate(reader, start=2):
        word = (row.get(decision_column) or "").strip().lower()
        decision = _DECISION_WORDS.get(word)
        if decision is None:
            raise ScreenerError(
                f"unknown decision {word!r}",
                path=path,
                line=number,
                hint="use include, exclude, maybe (or yes/no, 1/0)",
            )
        reason = (row.get(columns.get("reason", ""), "") or "").strip()
        _check_reason(review, stage, decision, reason)
        note = (row.get(columns.get("note", ""), "") or "").strip()
        entries.append(Decision(row[id_column].strip(), decision, reason, note, now_stamp()))
    DecisionLog(decision_path(review.labels_dir, stage, reviewer)).append_many(entries)
    return len(entries)
