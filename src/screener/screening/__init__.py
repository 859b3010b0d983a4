"""Independent screening by a pool of screeners: who decided what, conflicts, finals, agreement.

The records screened at title-abstract are the review's studies after deduplication (one per
cluster); a decision made on any record of a cluster counts for the cluster, so decisions stay
attached when deduplication changes which record represents it. The full-text stage holds only
the records finally included at title-abstract.

Final decision per record and stage (docs/review-format.md, "Votes"): a record is final when
at least `votes` screeners (review.toml `[screening] votes`, default 2) have decided it and all
agree (include and maybe both count as include: a maybe goes on to the next stage); any
disagreement among its decisions, however many there are, is a conflict for the resolver,
whose include or exclude settles it (a resolver's maybe settles nothing). Fewer votes and no
disagreement: the record is open. Differing exclusion reasons at full text are a conflict too:
PRISMA reports one reason per excluded report.

Single screening with a verified sample (`votes = 1`, `verify_sample = 0.1`): the records whose
hash of (stage, id) falls in the first tenth need two votes, like dual screening; a
disagreement there is a conflict. The sample depends on nothing but the id and the stage, so an
update never moves a record in or out of it.

With an allocation (`screener allocate`, allocation.py), what each screener is asked for is
their share: `need_vote_from` counts the records of their share still waiting for votes.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

from ..applog import by_time
from ..errors import ScreenerError
from ..records import Record
from ..schema import STAGES
from .decisions import Decision, decision_path, read_log_rows

if TYPE_CHECKING:
    from .allocate import Allocation


def in_verified_sample(stage: str, record_id: str, fraction: float) -> bool:
    """Whether a record is in the stage's verified sample: a hash of (stage, id) read as a number
    in [0, 1) falls below `fraction`. About that share of records, the same ones on every machine."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(f"verify-sample\x00{stage}\x00{record_id}".encode("utf-8", "surrogateescape"))
    return int.from_bytes(digest.digest()[:8], "big") / 2**64 < fraction


@dataclass
class Final:
    record_id: str
    decision: str  # include, exclude, not-retrieved
    reason: str
    by: str  # "agreement" or the resolver's name


def flow_outcome(final: Final | None) -> str:
    """Where a final decision puts a record, the same in `status` and in PRISMA 2020: "included",
    "excluded", "not-retrieved", or "" (not final).

    PRISMA 2020 puts "reports not retrieved" after "reports sought for retrieval": a report is
    sought once its record passes title/abstract. So a not-retrieved at title/abstract (screen
    and label refuse it there; a labels file written by hand or merged can hold one) means the
    report was sought and could not be had: counted as sought and not retrieved, never as
    excluded, and not assessed at full text."""
    if final is None:
        return ""
    return {"include": "included", "exclude": "excluded"}.get(final.decision, "not-retrieved")


@dataclass
class Conflict:
    record_id: str
    kind: str  # "disagree", "reason", "single" (only some screeners decided)
    decisions: dict[str, Decision]

    @property
    def to_resolve(self) -> bool:
        """A disagreement, for the resolver; "single" is open: waiting for more votes."""
        return self.kind != "single"


@dataclass
class StageView:
    """Everything about one stage of a review, computed from the files."""

    stage: str
    records: list[Record]
    screeners: list[str]
    resolvers: list[str]
    decisions: dict[str, dict[str, Decision]]  # reviewer -> record id -> latest decision
    votes: int = 2  # agreeing screener decisions that make a record final
    inactive: frozenset[str] = frozenset()  # screeners who left: their decisions count, no new work
    final: dict[str, Final] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    unknown_ids: dict[str, list[str]] = field(default_factory=dict)  # reviewer -> ids not in the stage
    # reviewer -> decided ids that are no record of the review at all (a typo, a removed search)
    not_in_review: dict[str, list[str]] = field(default_factory=dict)
    interrupted_lines: list[str] = field(default_factory=list)  # cut by a crash, skipped
    # reviewer -> studies on whose copies (records merged as duplicates) they decided differently
    copies_disagree: dict[str, list[str]] = field(default_factory=dict)
    verify_sample: float = 0.0  # with votes = 1: the share of records that needs two votes
    allocation: Allocation | None = None  # allocation/<stage>.csv, when the review has one
    # study id -> the round (review version) that brought it, after an update; absent: round 1
    rounds: dict[str, int] = field(default_factory=dict)
    # Studies the stopping rule judges as a group of their own (id -> the group's name): every
    # copy imported after their round's screening began, a late database or a chase (late_arrivals).
    apart: dict[str, str] = field(default_factory=dict)
    # reviewer -> those studies as their labels/began/ lines have them, where that differs:
    # none of a study's exports was in their ranking when they began its round (another
    # clone's import a merge brought later), or every one was (they began after a late import).
    apart_of: dict[str, dict[str, str]] = field(default_factory=dict)

    def apart_for(self, name: str) -> dict[str, str]:
        """The studies the stopping rule judges apart on `name`'s curve."""
        return self.apart_of.get(name, self.apart)

    @property
    def record_ids(self) -> list[str]:
        return [r.id for r in self.records]

    def stopping_scope(self, name: str) -> set[str]:
        """The records a screener's stopping rule speaks of, as their screen holds them
        (allocate.screen_records): with an allocation, their share still waiting for votes and
        what they decided; a record of their share a teammate's votes settled is no record they
        must still see. Without one (or for one marked inactive, whose screen holds every
        record), every record."""
        if self.allocation is None or name in self.inactive:
            return set(self.record_ids)
        voting = self.voting()
        share = {r for r in self.allocation.share(name) if r in voting}
        return share | self.decisions.get(name, {}).keys()

    def scope(self, name: str) -> set[str]:
        """The records a screener's progress is measured against: with an allocation their
        share and what they decided outside it, else every record (their stopping rule's:
        stopping_scope)."""
        if self.allocation is None:
            return set(self.record_ids)
        return self.allocation.share(name) | self.decisions.get(name, {}).keys()

    def in_sample(self, record_id: str) -> bool:
        return self.votes == 1 and in_verified_sample(self.stage, record_id, self.verify_sample)

    def votes_for(self, record_id: str) -> int:
        """Agreeing votes that make this record final: two in the verified sample."""
        return 2 if self.in_sample(record_id) else self.votes

    def progress(self) -> dict[str, Any]:
        from .allocate import over_allocated

        total = len(self.records)
        scopes = {name: self.scope(name) for name in self.screeners}
        per_reviewer = {
            name: {
                "screened": len(self.decisions.get(name, {})),
                # With an allocation: their share (and their votes outside it), not every record.
                "total": len(scopes[name]),
                "included": sum(1 for d in self.decisions.get(name, {}).values() if d.includes),
            }
            for name in self.screeners
        }
        rounds = self.round_counts(self.record_ids)
        if len(rounds) > 1:  # after an update: how far each screener is with each round's records
            for name, p in per_reviewer.items():
                decided = self.decisions.get(name, {})
                p["rounds"] = {
                    str(number): {
                        "screened": sum(1 for rid in decided if self.rounds.get(rid, 1) == number),
                        "total": count,
                    }
                    for number, count in self.round_counts(scopes[name]).items()
                }
        waiting = self.waiting()
        voting = waiting["open"] | waiting["undecided"]  # as self.voting(), from the waiting at hand
        shares = {name: self.allocation.share(name) for name in self.screeners} if self.allocation else {}
        for name, share in shares.items():
            # Records of their share others' votes made final (a union merge of two clones'
            # allocations asks three people for some): neither screened by them nor to do.
            mine = self.decisions.get(name, {})
            final = sum(1 for rid in share if rid in self.final and rid not in mine)
            per_reviewer[name]["final_in_share"] = final
        outcomes = Counter(flow_outcome(f) for f in self.final.values())
        return {
            "stage": self.stage,
            "records": total,
            "reviewers": per_reviewer,
            "final": len(self.final),
            "included": outcomes["included"],
            "excluded": outcomes["excluded"],
            "not_retrieved": outcomes["not-retrieved"],
            "conflicts_to_resolve": len(waiting["conflicts"]),
            "screened_by_some_only": len(waiting["open"]),
            "votes": self.votes,
            "fleiss_kappa": pool_kappa(self)[0] if len(self.screeners) > 2 else float("nan"),
            "not_screened": len(waiting["undecided"]),
            # Per active screener: records not final and in no conflict that they have not voted on
            # (with an allocation: those of their share).
            "need_vote_from": {
                name: self.need_vote(name, voting) for name in self.screeners if name not in self.inactive
            },
            "allocated": self.allocation is not None,
            "rounds": {str(number): count for number, count in rounds.items()} if len(rounds) > 1 else {},
            # With an allocation: records still waiting for votes that too few screeners are asked for.
            "not_allocated": self.not_allocated(voting) if self.allocation is not None else 0,
            # With an allocation: records asked of more screeners than their votes (a union merge).
            "over_allocated": len(over_allocated(self)),
            "verify_sample": sample_agreement(self),
            "decisions_on_ids_not_in_review": sum(len(v) for v in self.not_in_review.values()),
            "interrupted_lines_skipped": len(self.interrupted_lines),
            "copies_decided_differently": sum(len(v) for v in self.copies_disagree.values()),
        }

    def round_counts(self, record_ids: Iterable[str]) -> dict[int, int]:
        """Records per round among `record_ids`, by round."""
        counts: dict[int, int] = {}
        for record_id in record_ids:
            number = self.rounds.get(record_id, 1)
            counts[number] = counts.get(number, 0) + 1
        return dict(sorted(counts.items()))

    def stopping_rounds(self, name: str) -> list[tuple[int | str, list[int], int]]:
        """What the stopping rule reads of a screener (see `stopping_rounds`), on their scope."""
        decided = self.decisions.get(name, {})
        return stopping_rounds(decided, self.stopping_scope(name), self.rounds, self.apart_for(name))

    def not_allocated(self, voting: set[str]) -> int:
        """Records waiting for votes that fewer screeners are asked for (or voted) than they need."""
        from .allocate import covered_by

        assigned = self.allocation.assigned if self.allocation is not None else {}
        short = 0
        for record_id in voting:
            needed = self.votes_for(record_id)
            asked = sum(1 for name in assigned.get(record_id, ()) if name not in self.inactive)
            if asked < needed and len(covered_by(self, record_id, self.allocation)) < needed:
                short += 1
        return short

    def waiting(self) -> dict[str, set[str]]:
        """The records not final yet, by what they wait for: conflicts (the resolver), open
        (fewer agreeing votes than needed), undecided (no screener's vote yet)."""
        conflicts = {c.record_id for c in self.conflicts if c.to_resolve}
        open_records = {c.record_id for c in self.conflicts if not c.to_resolve}
        undecided = set(self.record_ids) - self.final.keys() - conflicts - open_records
        return {"undecided": undecided, "open": open_records, "conflicts": conflicts}

    def votable(self, name: str, voting: set[str] | None = None) -> set[str] | None:
        """The records not final and in no conflict whose votes count from `name` (with an
        allocation: of their share), decided by them or not; None for one who is no active
        screener. `voting`: self.voting(), when the caller has it."""
        if name not in self.screeners or name in self.inactive:
            return None
        voting = self.voting() if voting is None else voting
        return voting & self.allocation.share(name) if self.allocation is not None else voting

    def need_vote(self, name: str, voting: set[str] | None = None) -> int | None:
        """How many of `votable(name)` they have not voted on (None: no active screener)."""
        votable = self.votable(name, voting)
        return None if votable is None else len(votable - self.decisions.get(name, {}).keys())

    def voting(self) -> set[str]:
        """The records a screener's vote can still move: open or undecided (not final, and not
        a conflict, which waits for the resolver)."""
        waiting = self.waiting()
        return waiting["open"] | waiting["undecided"]


@dataclass(frozen=True)
class StoppingGroups:
    """The groups the stopping rule judges apart: each record's (round, name of a group in
    `apart` or ""), and how many records each group has. Fixed while the records are: the screen
    makes it once a session, so a keystroke folds only the decisions (counting 20,000 records
    again took 70 ms a keystroke)."""

    of: dict[str, tuple[int, str]]
    totals: dict[tuple[int, str], int]

    @classmethod
    def make(
        cls, record_ids: Iterable[str], rounds: dict[str, int], apart: dict[str, str] | None = None
    ) -> StoppingGroups:
        apart = apart or {}
        of = {record_id: (rounds.get(record_id, 1), apart.get(record_id, "")) for record_id in record_ids}
        return cls(of, dict(Counter(of.values())))


def stopping_rounds(
    decided: dict[str, Decision],
    record_ids: Iterable[str],
    rounds: dict[str, int],
    apart: dict[str, str] | None = None,
    groups: StoppingGroups | None = None,
) -> list[tuple[int | str, list[int], int]]:
    """Per group, by round: (round, or the name of a group in `apart`; a screener's decisions
    on its records among `record_ids` as the stopping rule reads them, 1 relevant, in the order
    they were made; the group's records among `record_ids`). Each group is judged on its own
    curve (ranking.stopping.rounds_estimate): an update's records were never in the ranking the
    first round's curve comes from, nor were the records a chase brought once screening began.
    `groups`, when given, is StoppingGroups.make of the same records, rounds and apart."""
    if groups is None:
        groups = StoppingGroups.make(record_ids, rounds, apart)
    labels: dict[tuple[int, str], list[int]] = {key: [] for key in groups.totals}
    # By time (parsed, whatever the UTC offset), ties in file order, as the screen orders them.
    for record_id, decision in by_time(list(decided.items()), lambda item: item[1].timestamp):
        key = groups.of.get(record_id)
        if key is not None:
            labels[key].append(1 if decision.includes else 0)
    return [
        (name or number, labels[(number, name)], groups.totals[(number, name)])
        for number, name in sorted(groups.totals)
    ]


LATE_OTHER = "records found by other methods after screening began"
LATE_IMPORT = "records imported after screening began"


# Per study that could be late: its earliest copy's arrival (the first import of the file it
# came in; -inf when a copy's time is no date: never late by time), whether only other methods
# found it, and every copy's export (sha256), which labels/began/ lines are read against.
Arrivals = dict[str, tuple[float, bool, tuple[str, ...]]]


def _file_arrivals(review) -> tuple[dict[str, float], dict[int, float]]:  # noqa: ANN001 - Review
    """Each file content's first import (sha256 -> time, whether the file is still listed or was
    removed: one removed and imported again keeps its first import's time), and each round's
    first file's import. Files whose time is no date are left out: they are never late."""
    from ..applog import parse_stamp

    arrived: dict[str, float] = {}
    first_file: dict[int, float] = {}
    for search in review.searches():
        entries = [(f.sha256, f.imported, f.round) for f in search.files]
        entries += [
            (str(r.get("sha256", "")), str(r.get("imported", "")), r.get("round", 1)) for r in search.removed
        ]
        for sha256, imported_text, number in entries:
            when = parse_stamp(imported_text or "")
            if when is None:
                continue
            imported = when.timestamp()
            arrived[sha256] = min(imported, arrived.get(sha256, math.inf))
            number = number if isinstance(number, int) else 1
            first_file[number] = min(imported, first_file.get(number, math.inf))
    return arrived, first_file


def study_arrivals(  # noqa: ANN001 - Review
    review,
    records: list[Record],
    member_of: dict[str, str],
    files: tuple[dict[str, float], dict[int, float]] | None = None,
    missing: dict[str, frozenset[str]] | None = None,
) -> Arrivals:
    """For late_arrivals, what it needs of every record: `records` are review.records() with
    the ids member_of has (deduplication's records: the ids it splits in place); `files`,
    _file_arrivals' answer, and `missing`, began.not_held's, when the caller has them. A study
    is late when its earliest copy came after its round's screening began: its round is its
    earliest copy's (study_rounds), and a copy a later round's file brought again was in none
    of that round's ranking either. Only the studies that could ever be late are kept: not
    those with a copy in a file whose time is no date, nor those whose earliest copy came with
    their round's first file (a round's screening begins after its first file came), unless a
    copy is in an export some reviewer began their round without."""
    from ..schema import OTHER_KINDS
    from .began import listed_rounds, not_held

    arrived, first_file = files or _file_arrivals(review)
    if missing is None:
        missing = not_held(review.labels_dir, listed_rounds(review))
    unheld = frozenset().union(*missing.values())
    earliest: dict[str, float] = {}
    round_of: dict[str, int] = {}
    only_other: dict[str, bool] = {}
    copies: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for record, (search, f, _) in zip(records, review.record_files(), strict=True):
        study = member_of.get(record.id)
        if study is None:
            continue
        round_of[study] = min(f.round, round_of.get(study, f.round))
        only_other[study] = only_other.get(study, True) and search.kind in OTHER_KINDS
        copies.setdefault(study, set()).add(f.sha256)
        when = arrived.get(f.sha256)
        if when is None:
            unknown.add(study)
        else:
            earliest[study] = min(when, earliest.get(study, math.inf))
    out: Arrivals = {}
    for study, number in round_of.items():
        when = -math.inf if study in unknown else earliest[study]
        if when > first_file.get(number, math.inf) or not unheld.isdisjoint(copies[study]):
            out[study] = (when, only_other[study], tuple(sorted(copies[study])))
    return out


def late_arrivals(  # noqa: ANN001 - Review
    review,
    member_of: dict[str, str],
    first_lines: dict[str, list[tuple[str, str]]],
    rounds: dict[str, int],
    arrivals: Arrivals | None = None,
    records: list[Record] | None = None,
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The studies whose every record came in a file imported after their round's screening
    began (its first decision line, from `first_lines`: study -> each reviewer and their first line's
    stamp; a decision made again later moves nothing): a population the ranking never held
    when that round's curve was drawn, so the stopping rule judges them apart, or it would say
    stop with them unseen. Named LATE_OTHER when only other methods (citations, websites,
    organisations) found them, else LATE_IMPORT (a database searched late), with their round
    after an update. An update's own files come before its round's first decision: its round
    is its group. A file came when its content first did: one removed and imported again, or
    imported under another name, keeps its first import's time.

    And per screener, from their labels/began/ lines (began.py), what their ranking held when
    they began each round: a study of a round they wrote a line for is apart on their curve
    exactly when none of its copies' exports is in every line of theirs for that round, whatever
    the import times say. A merge can bring an export another clone imported earlier by its
    clock; teammates may each start with the database they imported; one who joined after a
    late import had it from their start. `arrivals`: study_arrivals' answer when the caller has
    it (the screen keeps it with the studies), else worked out here when some file came late,
    from `records` (deduplication's, when the caller has them). Returns the studies apart by
    time, and per screener who wrote lines, theirs in its place."""
    from ..applog import parse_stamp
    from .began import SHA_DIGITS, held_by_round, listed_rounds, not_held

    files = _file_arrivals(review)
    arrived, first_file = files
    held_lines = held_by_round(review.labels_dir)
    missing = not_held(review.labels_dir, listed_rounds(review), held_lines)
    # round -> its first decision; one dated before any of its files (decisions imported with
    # the times they were made elsewhere) says nothing of what the ranking held.
    began: dict[int, float] = {}
    # (reviewer, round) -> their first decision on a study of it: a line of theirs written
    # after it (another machine of theirs ran a screener that wrote none) cannot say what their
    # ranking held when that curve began.
    first_of: dict[tuple[str, int], float] = {}
    for study, stamps in first_lines.items():
        number = rounds.get(study, 1)
        for reviewer, text in stamps:
            when = parse_stamp(text or "")
            if when is None:
                continue
            moment = when.timestamp()
            first_of[(reviewer, number)] = min(moment, first_of.get((reviewer, number), math.inf))
            if first_file.get(number, math.inf) <= moment < began.get(number, math.inf):
                began[number] = moment

    def late(when: float, number: int) -> bool:
        return when > began.get(number, math.inf)

    def named(study: str, only_other: bool) -> str:
        name = LATE_OTHER if only_other else LATE_IMPORT
        return name if rounds.get(study, 1) == 1 else f"round {rounds[study]}: {name}"

    # Only a file that came after some round's screening began can hold a late copy.
    first_began = min(began.values(), default=math.inf)
    if not missing and not any(
        arrived.get(f.sha256, -math.inf) > first_began for s in review.searches() for f in s.files
    ):
        return {}, {}  # most reviews: every file came before screening, in every clone
    if arrivals is None:
        # Every record's id as member_of has it: deduplication's, with the ids it splits now in
        # place, recorded in labels/ids.csv or not yet (after a merge brought an erratum that
        # shares an early record's DOI, the recorded ones alone credit its copy to that record).
        if records is None:
            from ..dedup import dedup_review

            records = dedup_review(review).result.records
        arrivals = study_arrivals(review, records, member_of, files, missing)
    by_time = {
        study: named(study, only_other)
        for study, (when, only_other, _) in arrivals.items()
        if late(when, rounds.get(study, 1))
    }
    out_of: dict[str, dict[str, str]] = {}
    for reviewer, lines in held_lines.items():
        own: dict[str, str] = {}
        for study, (_, only_other, exports) in arrivals.items():
            number = rounds.get(study, 1)
            line = lines.get(number)
            if line is None:  # no line of theirs for the study's round: the clocks judge
                if study in by_time:
                    own[study] = by_time[study]
                continue
            written, held = line
            if not any(e[:SHA_DIGITS] in held for e in exports):
                own[study] = named(study, only_other)  # missing then, so missing when they began
            elif written > first_of.get((reviewer, number), math.inf) and study in by_time:
                # Dated after their first decision on the round (another machine of theirs, on
                # a screener that wrote none, began it): what it held says nothing of that start.
                own[study] = by_time[study]
        if own != by_time:
            out_of[reviewer] = own
    return by_time, out_of


def study_rounds(review, member_of: dict[str, str], outcome=None) -> dict[str, int]:  # noqa: ANN001
    """The round that brought each study (its earliest record's), after an update; {} before
    one (every study is of round 1). `outcome`: dedup_review's, when the caller has it."""
    if review.current_round() <= 1:
        return {}
    from ..dedup import dedup_review

    outcome = outcome or dedup_review(review)
    records = outcome.result.records  # review.records()' order, ids as member_of has them
    out: dict[str, int] = {}
    for record, found_in in zip(records, review.record_rounds(), strict=True):
        study = member_of.get(record.id)
        if study is not None and found_in < out.get(study, found_in + 1):
            out[study] = found_in
    return {study: number for study, number in out.items() if number > 1}


def _normalised(decision: Decision) -> tuple[str, str]:
    if decision.decision in ("include", "maybe"):
        return "include", ""
    return decision.decision, decision.reason


def decide_final(
    record_id: str,
    screener_decisions: dict[str, Decision],
    resolver: Decision | None,
    resolver_name: str,
    votes: int,
    full_text: bool,
) -> tuple[Final | None, Conflict | None]:
    """The record's final decision, or the conflict (or open state, kind "single") it is in."""
    decided = {n: d for n, d in screener_decisions.items() if d is not None}
    if not decided:
        return None, None
    outcomes = {_normalised(d)[0] for d in decided.values()}
    reasons = {_normalised(d)[1] for d in decided.values()}
    if len(outcomes) > 1:
        conflict = Conflict(record_id, "disagree", decided)
    elif outcomes == {"exclude"} and full_text and len(reasons) > 1:
        conflict = Conflict(record_id, "reason", decided)
    elif len(decided) >= votes:
        outcome = outcomes.pop()
        reason = sorted(reasons)[0] if outcome != "include" else ""
        return Final(record_id, outcome, reason, "agreement"), None
    else:
        return None, Conflict(record_id, "single", decided)  # open: waiting for more votes
    # Only a resolver's include, exclude or not-retrieved settles a conflict; "maybe" is no answer.
    if resolver is not None and resolver.decision != "maybe":
        outcome, reason = _normalised(resolver)
        return Final(record_id, outcome, reason, resolver_name), conflict
    return None, conflict


def load_stages(  # noqa: ANN001
    review, studies: list[Record], member_of: dict[str, str], outcome=None
) -> dict[str, StageView]:
    """Both stages, the title-abstract decisions read once (full text reads them too);
    `outcome`: the deduplication the studies come from, when the caller has it."""
    title_abstract = load_stage(review, "title-abstract", studies, member_of, outcome=outcome)
    full_text = load_stage(review, "full-text", studies, member_of, title_abstract=title_abstract)
    return {"title-abstract": title_abstract, "full-text": full_text}


def load_stage(
    review,
    stage: str,
    studies: list[Record] | None = None,  # noqa: ANN001
    member_of: dict[str, str] | None = None,
    title_abstract: StageView | None = None,
    rounds: dict[str, int] | None = None,
    arrivals: Arrivals | None = None,
    outcome=None,  # noqa: ANN001 - dedup.ReviewDedup
) -> StageView:
    """Read every decision file of a stage and work out finals and conflicts.

    `studies` are the deduplicated records (default: computed); `member_of` maps any record id
    to its study's id; `title_abstract`, for the full-text stage, the title-abstract view the
    caller has already (default: read again); `rounds`, study_rounds' answer for these studies
    when the caller has it (the screen keeps it with the studies: after an update it costs a
    deduplication); `arrivals`, study_arrivals' answer when the caller has it (the screen keeps
    it with the studies: with a file imported late it costs reading every record); `outcome`,
    the deduplication `studies` come from, when the caller has it (spares another).
    """
    if stage not in STAGES:
        raise ScreenerError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    config = review.config
    if studies is None or member_of is None:
        studies, member_of = review_studies(review)
    screeners = [r.name for r in config.reviewers if r.role == "screener"]
    resolvers = [r.name for r in config.reviewers if r.role == "resolver"]
    if stage == "full-text":
        title_abstract = title_abstract or load_stage(
            review, "title-abstract", studies, member_of, rounds=rounds, arrivals=arrivals, outcome=outcome
        )
        included = {k for k, f in title_abstract.final.items() if f.decision == "include"}
        records = [r for r in studies if r.id in included]
    else:
        records = list(studies)
    in_stage = {r.id for r in records}
    decisions: dict[str, dict[str, Decision]] = {}
    unknown: dict[str, list[str]] = {}
    not_in_review: dict[str, set[str]] = {}
    copies_disagree: dict[str, list[str]] = {}
    interrupted: list[str] = []
    # study -> the stamp of each reviewer's first decision on it (the log comes in the order the
    # decisions were made, whatever order git's union merge left its lines in): when it was first
    # screened, which a later decision on it does not move (late_arrivals).
    first_lines: dict[str, list[tuple[str, str]]] = {}
    for reviewer in screeners + resolvers:
        log, skipped = read_log_rows(decision_path(review.labels_dir, stage, reviewer))
        interrupted.extend(skipped)
        mapped: dict[str, Decision] = {}
        by_copy: dict[str, dict[str, str]] = {}  # study -> record id -> latest outcome
        seen: set[str] = set()
        for entry in log:  # in file order: the latest line for a study wins
            study = member_of.get(entry.record_id, entry.record_id)
            if study in in_stage and study not in seen:
                seen.add(study)
                first_lines.setdefault(study, []).append((reviewer, entry.timestamp))
            if study not in in_stage:
                unknown.setdefault(reviewer, []).append(entry.record_id)
                if entry.record_id not in member_of:  # the latest line counts: undecided retracts
                    orphans = not_in_review.setdefault(reviewer, set())
                    if entry.decision == "undecided":
                        orphans.discard(entry.record_id)
                    else:
                        orphans.add(entry.record_id)
                continue
            if entry.decision == "undecided":
                mapped.pop(study, None)
                by_copy.get(study, {}).pop(entry.record_id, None)
            else:
                mapped[study] = entry
                by_copy.setdefault(study, {})[entry.record_id] = _normalised(entry)[0]
        decisions[reviewer] = mapped
        # Copies of one study (merged by dedup after they were screened) decided differently:
        # the latest line counts, and the reviewer should know their other answer was set aside.
        split = sorted(s for s, outcomes in by_copy.items() if len(set(outcomes.values())) > 1)
        if split:
            copies_disagree[reviewer] = split
    view = StageView(
        stage,
        records,
        screeners,
        resolvers,
        decisions,
        votes=config.votes_needed(stage),
        verify_sample=float(config.raw.get("screening", {}).get("verify_sample", 0.0)),
        inactive=frozenset(r.name for r in config.reviewers if not r.active),
        unknown_ids=unknown,
        not_in_review={k: sorted(v) for k, v in not_in_review.items() if v},
        interrupted_lines=interrupted,
        copies_disagree=copies_disagree,
    )
    anyone = set().union(*(decisions.get(n, {}) for n in screeners))  # undecided: no final, no conflict
    for record in records:
        if record.id not in anyone:
            continue
        resolver_decision, resolver_name = None, ""
        for name in resolvers:
            if record.id in decisions.get(name, {}):
                resolver_decision, resolver_name = decisions[name][record.id], name
        final, conflict = decide_final(
            record.id,
            {n: decisions.get(n, {}).get(record.id) for n in screeners},
            resolver_decision,
            resolver_name,
            view.votes_for(record.id),
            stage == "full-text",
        )
        if final is not None:
            view.final[record.id] = final
        if conflict is not None and final is None:
            view.conflicts.append(conflict)
    from .allocate import read_allocation

    view.allocation = read_allocation(review.root, stage, in_stage, member_of, screeners)
    # Full text holds title-abstract's studies: their rounds are known already.
    if title_abstract is not None:
        view.rounds = title_abstract.rounds
    else:
        view.rounds = rounds if rounds is not None else study_rounds(review, member_of, outcome)
    if stage == "title-abstract":  # where the stopping rule speaks
        records_in = outcome.result.records if outcome is not None else None
        view.apart, view.apart_of = late_arrivals(
            review, member_of, first_lines, view.rounds, arrivals, records_in
        )
    return view


def review_studies(review, outcome=None) -> tuple[list[Record], dict[str, str]]:  # noqa: ANN001
    """The deduplicated studies of a review and the map from every record id to its study
    (from `outcome`, a dedup.ReviewDedup, when the caller has one already)."""
    from ..dedup import dedup_review

    outcome = outcome or dedup_review(review)
    studies = outcome.studies()
    member_of: dict[str, str] = {}
    for study, members in zip(studies, outcome.result.clusters, strict=True):
        for index in members:
            member_of[outcome.result.records[index].id] = study.id
    return studies, member_of


# -- agreement ---------------------------------------------------------------------------


@dataclass
class Agreement:
    stage: str
    reviewer_1: str
    reviewer_2: str
    n: int
    table: dict[str, int]  # both_include, only_1_includes, only_2_includes, both_exclude
    percent_agreement: float
    kappa: float
    kappa_ci_low: float
    kappa_ci_high: float
    pabak: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cohen_kappa(a: list[int], b: list[int]) -> tuple[float, float, float, float, float]:
    """Kappa, its 95% CI (Fleiss, Cohen & Everitt 1969 large-sample SE), percent agreement and
    prevalence- and bias-adjusted kappa (2p - 1), for binary ratings (1 include, 0 exclude)."""
    n = len(a)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), float("nan"), float("nan")
    p11 = sum(1 for x, y in zip(a, b, strict=True) if x and y) / n
    p00 = sum(1 for x, y in zip(a, b, strict=True) if not x and not y) / n
    p10 = sum(1 for x, y in zip(a, b, strict=True) if x and not y) / n
    p01 = 1 - p11 - p00 - p10
    po = p11 + p00
    r1, c1 = p11 + p10, p11 + p01  # marginal "include" of rater 1 and rater 2
    r0, c0 = 1 - r1, 1 - c1
    pe = r1 * c1 + r0 * c0
    pabak = 2 * po - 1
    if pe >= 1:  # both raters gave one category only: kappa is undefined
        return float("nan"), float("nan"), float("nan"), po, pabak
    kappa = (po - pe) / (1 - pe)
    # Large-sample variance of kappa (Fleiss, Cohen & Everitt 1969).
    cells = ((p11, r1, c1), (p00, r0, c0))
    term1 = sum(p * (1 - (rm + cm) * (1 - kappa)) ** 2 for p, rm, cm in cells)
    term2 = (1 - kappa) ** 2 * (p10 * (c1 + r0) ** 2 + p01 * (c0 + r1) ** 2)
    term3 = (kappa - pe * (1 - kappa)) ** 2
    variance = max(term1 + term2 - term3, 0.0) / (n * (1 - pe) ** 2)
    se = math.sqrt(variance)
    if se == 0:
        # Perfect agreement: the formula's SE is 0 whatever n, and "1.000 to 1.000" would claim
        # a certainty seven records cannot give. No interval is said (NaN: "CI not estimable").
        return kappa, float("nan"), float("nan"), po, pabak
    # Kappa lives in [-1, 1]; the normal approximation overshoots on small samples.
    return kappa, max(-1.0, kappa - 1.96 * se), min(1.0, kappa + 1.96 * se), po, pabak


def fleiss_kappa(counts: list[list[int]]) -> float:
    """Fleiss' kappa for subjects rated into categories: `counts[i][j]` raters put subject i in
    category j. Subjects may have different numbers of raters (at least two each; others are
    left out): each subject's agreement is over its own rater pairs, the chance agreement from
    the pooled category shares. Equals Fleiss (1971) when every subject has the same raters.
    NaN when undefined (no subject, or one category only)."""
    rows = [row for row in counts if sum(row) >= 2]
    if not rows:
        return float("nan")
    observed = sum(sum(n * (n - 1) for n in row) / (sum(row) * (sum(row) - 1)) for row in rows) / len(rows)
    total = sum(sum(row) for row in rows)
    chance = sum((sum(row[j] for row in rows) / total) ** 2 for j in range(len(rows[0])))
    if chance >= 1:
        return float("nan")
    return (observed - chance) / (1 - chance)


def pool_kappa(view: StageView) -> tuple[float, int]:
    """Fleiss' kappa over the whole pool of screeners (include and maybe count as include), on
    the records with two votes or more, and how many records that is."""
    rows = _vote_rows(view, view.record_ids)
    return fleiss_kappa(rows), len(rows)


def _vote_rows(view: StageView, record_ids: Iterable[str]) -> list[list[int]]:
    """Per record with two votes or more: [votes to include, votes to exclude] (maybe counts as
    include), the rows Fleiss' kappa reads."""
    rows = []
    for record_id in record_ids:
        votes = [view.decisions.get(name, {}).get(record_id) for name in view.screeners]
        included = [d.includes for d in votes if d is not None]
        if len(included) >= 2:
            rows.append([sum(included), len(included) - sum(included)])
    return rows


def sample_agreement(view: StageView) -> dict[str, Any] | None:
    """How the verified sample went (None without one): its records, how many have two votes or
    more, how many of those agree (include and maybe count as include), and Fleiss' kappa on them
    (Scott's pi when each has two votes)."""
    if view.votes != 1 or view.verify_sample <= 0:
        return None
    sample = [rid for rid in view.record_ids if view.in_sample(rid)]
    rows = _vote_rows(view, sample)
    agreeing = sum(1 for row in rows if 0 in row)
    return {
        "fraction": view.verify_sample,
        "records": len(sample),
        "double_screened": len(rows),
        "agreeing": agreeing,
        "percent_agreement": agreeing / len(rows) if rows else float("nan"),
        "kappa": fleiss_kappa(rows),
    }


def describe_sample(sample: dict[str, Any]) -> str:
    """One line on the verified sample (`sample_agreement`), for `agreement` and `status`."""
    head = f"verified sample ({sample['fraction']:.0%})"
    if not sample["double_screened"]:
        return f"{head}: none of its {sample['records']} records screened twice yet"
    kappa = sample["kappa"]
    return (
        f"{head}: {sample['double_screened']} of {sample['records']} records screened twice, "
        f"{sample['agreeing']} agree ({sample['percent_agreement']:.1%}); "
        f"Fleiss' kappa {format(kappa, '.3f') if math.isfinite(kappa) else 'n/a'}"
    )


def allocation_summary(
    view: StageView, planned: dict[str, set[str]] | None = None
) -> dict[str, dict[str, Any]]:
    """Per screener with a share (and every active one): records allocated to them (with
    `planned` ones added), of those decided by them, and still to do (waiting for votes, theirs
    missing); `active` false for a screener who left."""
    voting = view.voting()
    out: dict[str, dict[str, Any]] = {}
    for name in view.screeners:
        share = view.allocation.share(name) if view.allocation is not None else set()
        share |= {rid for rid, names in (planned or {}).items() if name in names}
        active = name not in view.inactive
        if not share and not active:
            continue
        mine = view.decisions.get(name, {})
        out[name] = {
            "allocated": len(share),
            "decided": sum(1 for rid in share if rid in mine),
            "to_do": len((share & voting) - mine.keys()) if active else 0,
            "decided_outside_share": sum(1 for rid in mine if rid not in share),
            "active": active,
        }
    return out


def agreement(view: StageView) -> list[Agreement]:
    """Agreement of every pair of screeners on the records both screened."""
    out = []
    for first, second in combinations(view.screeners, 2):
        d1, d2 = view.decisions.get(first, {}), view.decisions.get(second, {})
        both = [rid for rid in view.record_ids if rid in d1 and rid in d2]
        a = [int(d1[r].includes) for r in both]
        b = [int(d2[r].includes) for r in both]
        kappa, low, high, po, pabak = cohen_kappa(a, b)
        table = {
            "both_include": sum(1 for x, y in zip(a, b, strict=True) if x and y),
            f"only_{first}_includes": sum(1 for x, y in zip(a, b, strict=True) if x and not y),
            f"only_{second}_includes": sum(1 for x, y in zip(a, b, strict=True) if y and not x),
            "both_exclude": sum(1 for x, y in zip(a, b, strict=True) if not x and not y),
        }
        out.append(Agreement(view.stage, first, second, len(both), table, po, kappa, low, high, pabak))
    return out


def stopping_statement(
    labels: list[int],
    total: int,
    rounds: list[tuple[int | str, list[int], int]] | None = None,
    scope: str = "",
) -> tuple[str, bool]:
    """The stopping rule's statement on these decisions (1 include, 0 exclude, in the order
    they were made), and whether it says stop.

    The rule lives in ranking/stopping.py: `rounds_estimate(...).describe()` is what the screen
    shows (found so far, and the rule's expectation of how many more records reach 95% recall),
    each group's records judged on their own (`rounds`: StageView.stopping_rounds; default, one
    round of `total` records), `scope` naming them ("alice's share"). The rule may change; any
    failure there leaves the page or table whole and says so instead."""
    if not labels:
        return "No decisions yet: the stopping rule has nothing to judge.", False
    try:
        from ..ranking.stopping import rounds_estimate

        estimate = rounds_estimate(rounds if rounds is not None else [(1, labels, total)], True, scope)
        text, stop = estimate.describe(), estimate.safe_to_stop
    except Exception as exc:  # noqa: BLE001 - a report or status must not fail for the rule
        return f"The stopping rule could not be evaluated here ({type(exc).__name__}: {exc}).", False
    return f"{text} (assuming ranked order, the screen's default)", stop


def screener_labels(view: StageView, name: str) -> list[int]:
    """A screener's decisions at the view's stage, 1 include (or maybe), in the order made."""
    decided = by_time(list(view.decisions.get(name, {}).values()), lambda d: d.timestamp)
    return [1 if d.includes else 0 for d in decided]


def screener_stopping(view: StageView, name: str, labels: list[int] | None = None) -> tuple[str, bool]:
    """stopping_statement on a screener's decisions, as their screen says it: on what it holds
    (stopping_scope), each round and late group of theirs alone. `labels`: screener_labels'
    answer when the caller has it."""
    labels = screener_labels(view, name) if labels is None else labels
    scope = f"{name}'s share" if view.allocation is not None else ""
    return stopping_statement(labels, len(view.stopping_scope(name)), view.stopping_rounds(name), scope)


def load_all(review) -> tuple[dict[str, StageView], dict[str, str]]:  # noqa: ANN001 - Review
    """Every stage of the review (review.toml's), from one deduplication (their rounds and late
    arrivals read it too; at 100,000 records each costs seconds), and the map from every record
    id to its study."""
    from ..dedup import dedup_review

    outcome = dedup_review(review)
    studies, member_of = review_studies(review, outcome)
    both = load_stages(review, studies, member_of, outcome)
    return {stage: both[stage] for stage in review.config.stages}, member_of


def progress_all(review, loaded: dict[str, StageView] | None = None) -> list[dict[str, Any]]:  # noqa: ANN001
    """Progress of every stage: what each screener has done, finals, what waits for whom, and
    at title-abstract what the stopping rule says of each screener's decisions (as the screen
    and the report say it: their share with an allocation, each round and late group alone).
    `loaded`: load_all's views, when the caller has them."""
    views = loaded if loaded is not None else load_all(review)[0]
    out = []
    for view in views.values():
        stage = view.stage
        info = view.progress()
        if stage == STAGES[0]:
            info["stopping"] = {}
            for name in view.screeners:
                labels = screener_labels(view, name)
                if labels:
                    text, stop = screener_stopping(view, name, labels)
                    info["stopping"][name] = {"statement": text, "says_stop": stop}
        info["waiting_for"] = {name: info["need_vote_from"].get(name, 0) for name in info["reviewers"]}
        if view.resolvers:
            info["waiting_for"].update({name: info["conflicts_to_resolve"] for name in view.resolvers})
        out.append(info)
    return out
