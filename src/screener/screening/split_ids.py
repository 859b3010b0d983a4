"""Ids split by deduplication, and carrying the decisions made while they were shared.

A DOI can name two records that dedup keeps apart (an article and its erratum, found by two
searches). Up to screener 0.1 such records shared the id `doi:X`, so one decision decided both.
Since 0.2 the record found first keeps `doi:X` and the other is `doi:X~<hash>`
(dedup.split_shared_ids, recorded in labels/ids.csv). A decision that screener 0.1 recorded on
`doi:X` after the other record was imported was shown on both: this module finds those
decisions and appends the same decision on the split id to the same reviewer's file, with a
note saying where it came from. A decision written by 0.2 or later was made on one record and
is never carried. No line is ever rewritten; a reviewer who has decided the split id already
keeps their own decision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from .decisions import Decision, DecisionLog, decision_path, latest, now_stamp
from .decisions import read_log as read_decisions

# The first version that gave split records ids of their own: decisions it wrote are on one record.
SPLITTING_VERSION = (0, 2)


@dataclass(frozen=True)
class SplitId:
    shared_id: str  # the id the records shared, kept by the record found first
    split_id: str  # the id the other record has now
    search: str
    title: str
    imported: str  # when the split record's file was imported (ISO time)


@dataclass(frozen=True)
class Carry:
    stage: str
    reviewer: str
    split: SplitId
    decision: Decision  # the reviewer's decision on the shared id, to be appended on the split id


def split_ids(review, outcome=None) -> list[SplitId]:  # noqa: ANN001 - Review, ReviewDedup
    """Every record whose id dedup split (recorded or not yet), with the shared id it had: the
    records whose id differs from the one their export gives them. A DOI that holds a '~' is
    no split id."""
    from ..dedup import dedup_review

    outcome = outcome or dedup_review(review)
    natural = review.records()
    imported = [f.imported for _, f, _ in review.record_files()]
    found: dict[str, SplitId] = {}
    for position, record in enumerate(outcome.result.records):
        if position >= len(natural) or record.id == natural[position].id or record.id in found:
            continue
        when = imported[position] if position < len(imported) else ""
        found[record.id] = SplitId(natural[position].id, record.id, record.search, record.title, when)
    return list(found.values())


def _parse_time(text: str) -> dt.datetime | None:
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _written_before_splitting(version: str) -> bool:
    """True unless the version column reads as 0.2 or later. A file from elsewhere ("reconstruction",
    empty) predates splitting as far as anyone can tell."""
    parts = version.strip().split(".")
    try:
        return (int(parts[0]), int(parts[1])) < SPLITTING_VERSION
    except (ValueError, IndexError):
        return True


def _seen_on_split_record(decision: Decision, split: SplitId) -> bool:
    """A decision on the shared id was shown on the split record too when a version that shared
    ids wrote it after that record's file came into the review. When a time cannot be read, it
    is carried: the reviewer is shown it and can change it, a decision dropped is lost."""
    if not _written_before_splitting(decision.version):
        return False
    made, arrived = _parse_time(decision.timestamp), _parse_time(split.imported)
    return made is None or arrived is None or made >= arrived


def carry_plan(review, splits: list[SplitId] | None = None) -> list[Carry]:  # noqa: ANN001 - Review
    """The decisions to append: per stage and reviewer, their latest decision on each shared id,
    when it was made while the split record shared that id and they have none on the split id."""
    from . import STAGES

    splits = split_ids(review) if splits is None else splits
    if not splits:
        return []
    plan: list[Carry] = []
    for stage in STAGES:
        for reviewer in review.config.reviewers:
            path = decision_path(review.labels_dir, stage, reviewer.name)
            if not path.exists():
                continue
            current = latest(read_decisions(path))
            for split in splits:
                decision = current.get(split.shared_id)
                if decision is None or split.split_id in current:
                    continue
                if _seen_on_split_record(decision, split):
                    plan.append(Carry(stage, reviewer.name, split, decision))
    return plan


def carry_decisions(review, plan: list[Carry]) -> int:  # noqa: ANN001 - Review
    """Append the planned decisions, one fsynced write per reviewer file; returns how many."""
    by_file: dict[tuple[str, str], list[Decision]] = {}
    for carry in plan:
        note = f"carried from {carry.split.shared_id}, which named this record too until dedup split it"
        if carry.decision.note:
            note = f"{carry.decision.note} ({note})"
        entry = Decision(
            carry.split.split_id,
            carry.decision.decision,
            carry.decision.reason,
            note,
            # The time it was made: decisions fold by timestamp, so a carried one never outranks
            # a later decision on the split id (say, from another clone).
            carry.decision.timestamp or now_stamp(),
            tags=carry.decision.tags,
        )
        by_file.setdefault((carry.stage, carry.reviewer), []).append(entry)
    with review.lock():
        for (stage, reviewer), entries in by_file.items():
            log = DecisionLog(decision_path(review.labels_dir, stage, reviewer))
            if not log.takes_tags():  # a file from before tags: they go into the note
                entries = [
                    replace(e, tags="", note=f"{e.note} [tags: {e.tags}]" if e.tags else e.note)
                    for e in entries
                ]
            log.append_many(entries, made_now=False)  # each keeps the time it was made
    return sum(len(entries) for entries in by_file.values())
