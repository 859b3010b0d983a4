"""Optional allocation: which active screeners are asked for each record's votes.

`screener allocate` gives every record that still needs votes to as many active screeners as it
needs (`[screening] votes`; two for a record in the verified sample), so every record gets its
votes without everyone screening everything. The allocation is a plain file of the review,
`allocation/<stage>.csv` (`record_id,reviewer`, one line per assignment), only ever appended to:
lines already written never change, so git merges two clones' files line by line and its
history shows who was asked what, and when.

Deterministic: the same records and screeners give the same file, byte for byte, whatever the
order of the searches or of [[reviewers]]. Records are taken in the order of a hash of (stage,
id); each goes to the screeners with the fewest records so far, ties broken by
rendezvous (highest-random-weight) hashing of (stage, id, name), so shares differ by at most
one record and the pairs of screeners are mixed.

Stable: a record that arrives later (an update), a screener who joins, or one who leaves
(`active = false`) changes only what is not allocated yet. A record keeps every vote it has
(a decision outside one's share counts like any other); one whose allocated screener left
without voting is allocated again, to someone else. A screener who joins takes new records
first, until the shares even out.

The file is untrusted like every file of a review: a malformed line is an error naming it; an
id that is no record of the review, or a name that is no screener in review.toml, is reported
(by `allocate`, `status` and `check`) and ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ScreenerError
from ..records import Record
from ..words import plural

if TYPE_CHECKING:
    from . import StageView

FOLDER = "allocation"
COLUMNS = ("record_id", "reviewer")


def allocation_path(root: Path, stage: str) -> Path:
    """allocation/<stage>.csv in the review, no symlink on the way."""
    from ..names import inside

    return inside(root, FOLDER, f"{stage}.csv", what="allocation")


def is_complete(row: list[str]) -> bool:
    return len(row) >= 2 and bool(row[0].strip()) and bool(row[1].strip())


@dataclass
class Allocation:
    """What allocation/<stage>.csv says, mapped onto the stage's records."""

    stage: str
    path: Path
    assigned: dict[str, set[str]] = field(default_factory=dict)  # study id -> screeners asked
    lines: int = 0  # assignment lines read
    # Lines that cannot count: (line number, what it holds).
    unknown_ids: list[tuple[int, str]] = field(default_factory=list)  # no record of the review
    unknown_reviewers: list[tuple[int, str]] = field(default_factory=list)  # no screener in review.toml
    not_in_stage: int = 0  # records of the review that are not in this stage (any more)
    interrupted_lines: list[str] = field(default_factory=list)

    def share(self, name: str) -> set[str]:
        """The records allocated to one screener."""
        return {record for record, names in self.assigned.items() if name in names}

    def problems(self) -> list[str]:
        """What `check` reports: ids that are no record of the review."""
        if not self.unknown_ids:
            return []
        shown = ", ".join(f"line {n}: {i!r}" for n, i in self.unknown_ids[:5])
        more = " ..." if len(self.unknown_ids) > 5 else ""
        return [
            f"{FOLDER}/{self.stage}.csv: {len(self.unknown_ids)} lines name ids that are no records of the "
            f"review ({shown}{more}); they are ignored: restore the file from git, or remove those lines"
        ]

    def warnings(self) -> list[str]:
        """What is ignored and why: names that are no screener, interrupted lines."""
        out = list(self.interrupted_lines)
        if self.unknown_reviewers:
            names = sorted({name for _, name in self.unknown_reviewers})
            shown = ", ".join(repr(n) for n in names[:5]) + (" ..." if len(names) > 5 else "")
            out.append(
                f"{FOLDER}/{self.stage}.csv: {len(self.unknown_reviewers)} lines name people who are no "
                f"screeners in review.toml ({shown}); ignored: their records are allocated again by the "
                "next 'screener allocate'"
            )
        return out


def read_allocation(
    root: Path, stage: str, in_stage: set[str], member_of: dict[str, str], screeners: list[str]
) -> Allocation | None:
    """The stage's allocation file read and checked; None when the review has none."""
    from ..applog import read_rows

    path = allocation_path(root, stage)
    if not path.exists() and not path.is_symlink():
        return None
    log = read_rows(path, COLUMNS[0], is_complete)
    out = Allocation(stage, path, interrupted_lines=log.skipped)
    known = set(screeners)
    for number, row in log.rows:
        if not is_complete(row) or any(cell.strip() for cell in row[2:]):
            raise ScreenerError(
                f"expected record_id,reviewer, found {','.join(row)[:80]!r}",
                path=path,
                line=number,
                hint="screener allocate writes this file: restore it from git (or fix that line by hand)",
            )
        record_id, name = row[0].strip(), row[1].strip()
        out.lines += 1
        if record_id not in member_of:
            out.unknown_ids.append((number, record_id))
            continue
        if name not in known:
            out.unknown_reviewers.append((number, name))
            continue
        study = member_of[record_id]
        if study not in in_stage:
            out.not_in_stage += 1
            continue
        out.assigned.setdefault(study, set()).add(name)
    return out


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogateescape")).digest()


@dataclass
class Plan:
    """What `allocate` adds to the file, and the shares it leads to."""

    stage: str
    path: Path
    votes: int
    new: list[tuple[str, str]]  # (record id, screener), in the order they are appended
    shares: dict[str, dict[str, Any]]  # screener -> allocated, decided, to_do, new, active
    short: list[str]  # records that need more screeners than are active
    existing_lines: int
    warnings: list[str] = field(default_factory=list)
    verify_sample: float = 0.0  # with votes = 1: the share of records that gets two screeners

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "file": str(self.path),
            "votes": self.votes,
            "verify_sample": self.verify_sample,
            "existing_lines": self.existing_lines,
            "new_lines": len(self.new),
            "screeners": self.shares,
            "records_short_of_screeners": len(self.short),
            "warnings": self.warnings,
        }


def covered_by(view: StageView, record_id: str, allocation: Allocation | None) -> set[str]:
    """Who gives (or is asked for) a record's votes: the active screeners it is allocated to, and
    everyone who has voted on it (a screener who left keeps their votes)."""
    inactive = view.inactive
    asked = allocation.assigned.get(record_id, set()) if allocation is not None else set()
    voted = {name for name in view.screeners if record_id in view.decisions.get(name, {})}
    return {name for name in asked if name not in inactive} | voted


def over_allocated(view: StageView) -> dict[str, list[str]]:
    """The records of the stage allocated to more active screeners than the votes they need
    (record id -> the screeners asked): what git's union merge of two clones' runs of
    `allocate` leaves (each clone gave the same records to its own pick of screeners)."""
    if view.allocation is None:
        return {}
    out = {}
    for record_id, names in view.allocation.assigned.items():
        asked = sorted(name for name in names if name not in view.inactive)
        if len(asked) > view.votes_for(record_id):
            out[record_id] = asked
    return out


def over_allocation_warning(view: StageView) -> str | None:
    """What `allocate`, `status` and `check` say about over-allocated records, and what to do."""
    over = over_allocated(view)
    if not over:
        return None
    record_id, names = min(over.items())
    return (
        f"{FOLDER}/{view.stage}.csv: {len(over)} records are allocated to more screeners than the votes "
        f"they need (e.g. {record_id}: {', '.join(names)}), which happens when two clones run 'screener "
        "allocate' and git merges both files; each still becomes final with its votes, but the shares "
        "are uneven: run allocate on one clone and pull before screening; to even the shares, remove the "
        f"lines of one run ('git log -p {FOLDER}/{view.stage}.csv' shows them; running allocate again "
        "adds nothing for these records)"
    )


def plan_allocation(view: StageView) -> Plan:
    """The assignments that give every record still waiting for votes the screeners it needs.

    Only records that are neither final nor in conflict are allocated; lines already in the file
    stay as they are."""
    from . import allocation_summary

    allocation = view.allocation
    path = allocation.path if allocation is not None else Path(FOLDER, f"{view.stage}.csv")
    active = sorted(name for name in view.screeners if name not in view.inactive)
    load = dict.fromkeys(active, 0)
    if allocation is not None:
        for names in allocation.assigned.values():
            for name in names:
                if name in load:
                    load[name] += 1
    voting = view.voting()
    new: list[tuple[str, str]] = []
    short: list[str] = []
    for record_id in sorted(voting, key=lambda r: _digest(view.stage, r)):
        covered = covered_by(view, record_id, allocation)
        missing = view.votes_for(record_id) - len(covered)
        if missing <= 0:
            continue
        # The least loaded first; among equals, the highest rendezvous weight of (stage, id, name).
        candidates = sorted(
            (name for name in active if name not in covered),
            key=lambda name: (load[name], bytes(255 - b for b in _digest(view.stage, record_id, name))),
        )
        picked = sorted(candidates[:missing])
        if len(picked) < missing:
            short.append(record_id)
        for name in picked:
            new.append((record_id, name))
            load[name] += 1
    planned: dict[str, set[str]] = {}
    for record_id, name in new:
        planned.setdefault(record_id, set()).add(name)
    shares = allocation_summary(view, planned)
    for name, share in shares.items():
        share["new"] = sum(1 for _, n in new if n == name)
    warnings = allocation.problems() + allocation.warnings() if allocation is not None else []
    over = over_allocation_warning(view)
    return Plan(
        view.stage,
        path,
        view.votes,
        new,
        shares,
        short,
        allocation.lines if allocation is not None else 0,
        warnings + ([over] if over else []),
        view.verify_sample if view.votes == 1 else 0.0,
    )


def write_plan(root: Path, plan: Plan) -> None:
    """Append the plan's lines to allocation/<stage>.csv in one fsynced write (created with its
    header when missing). Nothing is written when the plan adds nothing."""
    from ..applog import append_rows

    if not plan.new:
        return
    path = allocation_path(root, plan.stage)
    append_rows(path, COLUMNS, [list(line) for line in plan.new], is_complete, folders=1)


def allocate(review, stage: str, dry_run: bool = False) -> Plan:  # noqa: ANN001 - a review.Review
    """Allocate the stage's records that still need votes (see the module's docstring); with
    `dry_run`, only say what would be appended."""
    from . import load_stage

    if stage not in review.config.stages:
        raise ScreenerError(
            f"stage {stage!r} is not one of this review's stages ({', '.join(review.config.stages)})"
        )
    if not any(r.role == "screener" and r.active for r in review.config.reviewers):
        from ..names import read_regular_bytes
        from ..review import add_reviewer_hint

        text = read_regular_bytes(review.config_path).decode("utf-8", "replace")
        raise ScreenerError(
            "no active screener to allocate records to",
            path=review.config_path,
            hint=add_reviewer_hint(text, "NAME", "screener") + " (or set active = true on one)",
        )
    if dry_run:
        return plan_allocation(load_stage(review, stage))
    with review.lock():  # two runs at once would both append the same shares
        plan = plan_allocation(load_stage(review, stage))
        write_plan(review.root, plan)
    return plan


def allocation_notice(view: StageView) -> str:
    """"" or what waits for `allocate`: records still waiting for votes that too few screeners
    are asked for (an update's new records, before the allocation takes them in). A screen or a
    ranking of one's share says so, never that nothing is left."""
    waiting = view.not_allocated(view.voting()) if view.allocation is not None else 0
    if not waiting:
        return ""
    return (
        f"{waiting} records waiting for votes are not allocated yet: run "
        f"'screener allocate --stage {view.stage}' (or screen every record with --all)"
    )


def share_scope(view: StageView, reviewer: str, every: bool = False) -> str:
    """What a screener's screen holds when it is not every record of the stage: "your share"."""
    active = reviewer in view.screeners and reviewer not in view.inactive
    return "your share" if view.allocation is not None and not every and active else ""


def screen_records(view: StageView, reviewer: str, every: bool = False) -> tuple[list[Record], str]:
    """The records a screener's screen holds, in the stage's order, and a line saying what they
    are. Without an allocation (or with `every`): every record. With one: the reviewer's share
    that still needs their vote, and the records they have decided (their ranking learns from
    every decision)."""
    need = view.need_vote(reviewer)
    if need is None:  # not an active screener (active = false): nothing waits for their vote
        return list(view.records), (
            "you are marked active = false in review.toml: no record waits for your vote, "
            "though a decision you make still counts"
        )
    if view.allocation is None or every:
        said = ""
        if need is not None:
            said = f"{plural(need, 'record')} still {'needs' if need == 1 else 'need'} your vote"
        if view.allocation is not None:
            said += " (of your share; every record shown)"
        return list(view.records), said
    share = view.allocation.share(reviewer)
    held = view.stopping_scope(reviewer)  # what the stopping rule speaks of, everywhere
    records = [r for r in view.records if r.id in held]
    if not share:
        return records, (
            f"no record of the {view.stage} stage is allocated to you: run 'screener allocate', "
            "or screen every record with --all"
        )
    said = (
        f"{plural(need, 'record')} of your share still {'needs' if need == 1 else 'need'} your vote "
        f"({len(share)} allocated to you)"
    )
    notice = allocation_notice(view)
    return records, f"{said}; {notice}" if notice else said
