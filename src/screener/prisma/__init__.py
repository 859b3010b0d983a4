"""PRISMA 2020 flow counts, every box a set of record ids computed from the review's files.

Key names follow the PRISMA2020 R package's data template. Each search has a `kind` in its
searches/NAME.toml: database (default), register, website, organisation or citations; the
first two feed the "databases and registers" column, the others "other methods".

Boxes in the databases-and-registers column count what was found there (a study found by both
a database and by citation searching counts there); "other methods" holds the studies found
only by other methods. Reports are counted as studies until reports are linked to studies.

Records found by other methods are screened like every record (title/abstract, then full text).
PRISMA's other-methods column has no screening boxes, so two boxes of our own keep it adding up
(JSON and diagram; the PRISMA2020 CSV template has no rows for them): `other_duplicates`, the
other-methods records that are copies of a study counted already (found by a database, or by
another other-methods record), and `other_records_excluded`, the other-methods studies excluded
at title/abstract. Identified by other methods = other_duplicates + studies screened
(other_methods_screened); those = other_records_excluded + other_sought_reports + still awaiting
a title/abstract decision.

Each column counts one record per study and removes its other copies, whichever record
deduplication keeps as the study's id: identified - duplicates = screened in both columns.

After `screener update` the review has rounds (versions). The flow shows one round (the latest
unless `round` says another), as PRISMA's updated-review template does: records identified in
it, those removed as duplicates of each other or of anything an earlier round found (screened or
not), and the new studies screened; studies included in earlier rounds are `previous_studies`,
and `total_studies` is previous plus new. Records of later rounds are left out, so an earlier
round's flow is drawn as it was (with today's decisions, and today's deduplication: a later
record that joins two earlier ones as one study joins them in the earlier flow too).

A not-retrieved decided at title/abstract counts as sought and not retrieved
(screening.flow_outcome, which `status` uses too).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..errors import ScreenerError
from ..schema import DATABASE_KINDS, KINDS

# The PRISMA2020 R package's data template keys, in flow order (dbr_excluded / other_excluded
# hold counts per reason and are kept apart).
BOXES = (
    "database_results",
    "register_results",
    "website_results",
    "organisation_results",
    "citations_results",
    "duplicates",
    "excluded_automatic",
    "excluded_other",
    "records_screened",
    "records_excluded",
    "dbr_sought_reports",
    "dbr_notretrieved_reports",
    "dbr_assessed",
    "other_sought_reports",
    "other_notretrieved_reports",
    "other_assessed",
    "new_studies",
    "new_reports",
    "total_studies",
    "total_reports",
    "previous_studies",
    "previous_reports",
    # Ours, not the template's: every other-methods record in a box (see the module docstring).
    "other_duplicates",
    "other_records_excluded",
)


# What a stage waits for, in words a reader without the docs follows (singular, plural).
_PLAIN = {
    "undecided": ("not screened yet", "not screened yet"),
    "open": ("waiting for another vote", "waiting for more votes"),
    "conflicts": ("conflict for the resolver", "conflicts for the resolver"),
}


@dataclass
class PrismaCounts:
    boxes: dict[str, list[str]]  # box -> record ids (identified boxes: every record, duplicates too)
    per_database: dict[str, int]  # database name -> records identified
    per_register: dict[str, int]
    exclusion_reasons: dict[str, list[str]]  # full-text reason -> record ids (databases/registers)
    other_exclusion_reasons: dict[str, list[str]]
    pending: dict[str, int] = field(default_factory=dict)  # decisions still missing, per stage
    round: int = 1  # the review version the flow shows; > 1 means the updated-review variant
    other_studies: list[str] = field(default_factory=list)  # studies found only by other methods
    # Per stage, what is not final yet: undecided (no vote), open (fewer votes than needed),
    # conflicts (waiting for the resolver). With undecided duplicate pairs: the review is in progress.
    awaiting: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicate_pairs_undecided: int = 0
    # Studies of earlier rounds not final yet: not this round's work, but the previous-studies
    # box waits for them, so the flow is not final either.
    earlier_rounds_waiting: int = 0
    # One per record of the duplicates box, in its order: the copy removed and the record it
    # was merged into (ids alone can repeat: one PMID found by two searches).
    removed_copies: list[dict[str, str]] = field(default_factory=list)

    @property
    def in_progress(self) -> bool:
        waiting = any(n for stage in self.awaiting.values() for n in stage.values())
        return waiting or bool(self.duplicate_pairs_undecided or self.earlier_rounds_waiting)

    def in_progress_text(self) -> str:
        """What the counts still wait for, in one line ("" when the review is finished)."""
        parts = []
        for stage, waiting in self.awaiting.items():
            said = [f"{n} {_PLAIN.get(what, (what, what))[n != 1]}" for what, n in waiting.items() if n]
            if said:
                parts.append(f"{stage}: {', '.join(said)}")
        if self.duplicate_pairs_undecided:
            pairs = self.duplicate_pairs_undecided
            parts.append(f"{pairs} duplicate pair{'' if pairs == 1 else 's'} undecided")
        if self.earlier_rounds_waiting:
            n = self.earlier_rounds_waiting
            parts.append(f"earlier rounds: {n} record{'' if n == 1 else 's'} not final")
        return "; ".join(parts)

    @property
    def identified_by_databases(self) -> int:
        return self.count("database_results") + self.count("register_results")

    @property
    def identified_by_other_methods(self) -> int:
        return self.identified - self.identified_by_databases

    def count(self, box: str) -> int:
        return len(self.boxes.get(box, []))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {box: len(ids) for box, ids in self.boxes.items()}
        out["database_results_by_database"] = dict(self.per_database)
        out["register_results_by_register"] = dict(self.per_register)
        out["dbr_excluded"] = {reason: len(ids) for reason, ids in self.exclusion_reasons.items()}
        out["other_excluded"] = {reason: len(ids) for reason, ids in self.other_exclusion_reasons.items()}
        out["pending"] = dict(self.pending)
        out["round"] = self.round
        out["in_progress"] = self.in_progress
        out["awaiting"] = {stage: dict(n) for stage, n in self.awaiting.items()}
        out["duplicate_pairs_undecided"] = self.duplicate_pairs_undecided
        out["earlier_rounds_waiting"] = self.earlier_rounds_waiting
        out["other_methods_screened"] = len(self.other_studies)
        return out

    @property
    def updated(self) -> bool:
        return self.round > 1

    @property
    def identified(self) -> int:
        """Records identified, from every kind of source (duplicates included)."""
        return sum(self.count(f"{kind}_results") for kind in KINDS)

    @property
    def screened(self) -> int:
        """Studies screened in this round: databases and registers, and other methods."""
        return self.count("records_screened") + len(self.other_studies)


def search_kind(search) -> str:  # noqa: ANN001 - review.Search
    kind = getattr(search, "kind", "") or "database"
    if kind not in KINDS:
        raise ScreenerError(f"search {search.name!r} has kind {kind!r}; kinds are {', '.join(KINDS)}")
    return kind


def prisma_counts(review, outcome=None, views=None, studied=None, round: int | None = None) -> PrismaCounts:  # noqa: ANN001 - Review
    """The counts; `outcome` (dedup_review), `views` (the title-abstract and full-text
    StageViews) and `studied` (review_studies' answer) when the caller has them already (the
    report), else computed. `round`: the review version whose flow to draw (default the latest);
    records of later rounds are left out, as if they had not been found yet."""
    from ..dedup import dedup_review
    from ..screening import flow_outcome, load_stages, review_studies

    searches = {s.name: s for s in review.searches()}
    outcome = outcome or dedup_review(review)
    records = outcome.result.records
    rounds = review.record_rounds()
    latest = review.current_round()
    current = latest if round is None else round
    if not 1 <= current <= latest:
        said = "round 1 only" if latest == 1 else f"rounds 1 to {latest}"
        raise ScreenerError(
            f"no round {current}: this review has {said}", hint="'screener status' lists them"
        )
    kind_of_search = {name: search_kind(s) for name, s in searches.items()}
    boxes: dict[str, list[str]] = {box: [] for box in BOXES}
    per_database: Counter[str] = Counter()
    per_register: Counter[str] = Counter()
    for record, found_in in zip(records, rounds, strict=True):
        if found_in != current:
            continue
        kind = kind_of_search.get(record.search, "database")
        boxes[f"{kind}_results"].append(record.id)
        name = (
            searches[record.search].database or record.search if record.search in searches else record.search
        )
        if kind == "database":
            per_database[name] += 1
        elif kind == "register":
            per_register[name] += 1

    # Empty records of this round's exports, kept out of screening at import (SearchFile.empty):
    # identified, then removed before screening for other reasons (a box of the database column).
    for name, search in searches.items():
        kind = kind_of_search[name]
        empty = [f for f in search.files if f.empty and f.round == current]
        if kind not in DATABASE_KINDS or not empty:
            continue
        ids = [f"searches/{f.path}: empty record {n}" for f in empty for n in range(1, f.empty + 1)]
        boxes[f"{kind}_results"].extend(ids)
        boxes["excluded_other"].extend(ids)
        (per_database if kind == "database" else per_register)[search.database or name] += len(ids)

    removed_copies: list[dict[str, str]] = []

    def in_databases(index: int) -> bool:
        return kind_of_search.get(records[index].search, "database") in DATABASE_KINDS

    def note_removed(indices: list[int], kept_index: int) -> None:  # kept_index: the copy it joined
        kept_record = records[kept_index]
        for i in indices:
            boxes["duplicates"].append(records[i].id)
            removed_copies.append(
                {
                    "record_id": records[i].id,
                    "search": records[i].search,
                    "merged_into": kept_record.id,
                    "merged_into_search": kept_record.search,
                }
            )

    # Which column each study belongs to: databases/registers if any of its records came from one.
    # Each column counts one record per study and removes the rest of its copies in that column,
    # whichever record dedup keeps as the study's id (a database or register record when the
    # study has one, so a citation copy never stands for a study a database found).
    kept = set(outcome.kept)
    column_of_study: dict[str, str] = {}
    previous: set[str] = set()  # studies an earlier round found
    for members in outcome.result.clusters:
        representative = next(i for i in members if i in kept)
        study = records[representative].id
        found = [i for i in members if rounds[i] <= current]  # later rounds: not found yet
        if not found:
            continue
        if any(rounds[i] < current for i in found):
            previous.add(study)
            # Everything this round found again is a duplicate of what the review had.
            earlier = min((i for i in found if rounds[i] < current), key=lambda i: rounds[i])
            note_removed([i for i in found if rounds[i] == current and in_databases(i)], earlier)
            boxes["other_duplicates"].extend(
                records[i].id for i in found if rounds[i] == current and not in_databases(i)
            )
            continue
        databases = [i for i in found if in_databases(i)]
        column = "dbr" if databases else "other"
        column_of_study[study] = column
        counted = databases or found  # the study's records in its own column
        stands_for = representative if representative in counted else counted[0]
        note_removed([i for i in databases if i != stands_for], stands_for)
        # Other-methods copies of a study counted already (in either column) are its duplicates.
        boxes["other_duplicates"].extend(
            records[i].id for i in found if i != stands_for and not in_databases(i)
        )

    studies, member_of = studied or review_studies(review, outcome)
    if views is None:
        views = list(load_stages(review, studies, member_of, outcome).values())
    ta, ft = views
    reasons: dict[str, list[str]] = {}
    other_studies: list[str] = []
    other_reasons: dict[str, list[str]] = {}
    for study in studies:
        sid = study.id
        if sid in previous:
            final_ft = ft.final.get(sid)
            if final_ft is not None and final_ft.decision == "include":
                boxes["previous_studies"].append(sid)
                boxes["previous_reports"].append(sid)
            continue
        column = column_of_study.get(sid)
        if column is None:  # found in a later round than the one shown
            continue
        if column == "dbr":
            boxes["records_screened"].append(sid)
        else:
            other_studies.append(sid)
        at_title_abstract = flow_outcome(ta.final.get(sid))
        if at_title_abstract == "excluded":
            boxes["records_excluded" if column == "dbr" else "other_records_excluded"].append(sid)
        if at_title_abstract not in ("included", "not-retrieved"):
            continue
        prefix = "dbr" if column == "dbr" else "other"
        boxes[f"{prefix}_sought_reports"].append(sid)
        final_ft = ft.final.get(sid)
        if at_title_abstract == "not-retrieved" or flow_outcome(final_ft) == "not-retrieved":
            boxes[f"{prefix}_notretrieved_reports"].append(sid)
            continue
        if final_ft is None:
            continue
        boxes[f"{prefix}_assessed"].append(sid)
        if final_ft.decision == "exclude":
            target = reasons if column == "dbr" else other_reasons
            target.setdefault(final_ft.reason or "No reason given", []).append(sid)
        elif final_ft.decision == "include":
            boxes["new_studies"].append(sid)
            boxes["new_reports"].append(sid)
    boxes["total_studies"] = boxes["previous_studies"] + boxes["new_studies"]
    boxes["total_reports"] = boxes["previous_reports"] + boxes["new_reports"]
    # What the flow still waits for: the studies the round shown found first (its own screening,
    # as its flow counts them); earlier rounds' open work is said apart, not mixed in.
    waiting = {view.stage: view.waiting() for view in (ta, ft)}
    awaiting = {
        stage: {what: len(ids & column_of_study.keys()) for what, ids in by_what.items()}
        for stage, by_what in waiting.items()
    }
    earlier_waiting = {s for by_what in waiting.values() for ids in by_what.values() for s in ids} & previous
    first_found: dict[str, int] = {}
    for record, found_in in zip(records, rounds, strict=True):
        first_found[record.id] = min(found_in, first_found.get(record.id, found_in))
    undecided_pairs = [
        p for p in outcome.pending if max(first_found.get(p.id_1, 1), first_found.get(p.id_2, 1)) <= current
    ]
    pending = {stage: sum(waiting.values()) for stage, waiting in awaiting.items()}
    return PrismaCounts(
        boxes,
        dict(per_database),
        dict(per_register),
        reasons,
        other_reasons,
        pending,
        round=current,
        other_studies=other_studies,
        awaiting=awaiting,
        duplicate_pairs_undecided=len(undecided_pairs),
        earlier_rounds_waiting=len(earlier_waiting),
        removed_copies=removed_copies,
    )


def explain(counts: PrismaCounts, box: str) -> list[str]:
    """The record ids behind a box (a reason name works for dbr_excluded / other_excluded)."""
    if box in counts.boxes:
        return counts.boxes[box]
    for table in (counts.exclusion_reasons, counts.other_exclusion_reasons):
        if box in table:
            return table[box]
    names = sorted(counts.boxes) + sorted(counts.exclusion_reasons)
    raise ScreenerError(f"no PRISMA box {box!r}", hint="boxes: " + ", ".join(names))
