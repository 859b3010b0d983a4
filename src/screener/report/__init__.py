"""A review report for the people who will not open a terminal: one self-contained HTML page.

`report_data(review)` gathers every number from the functions behind the commands
(`prisma_counts` for `prisma --format json`, `agreement` and `pool_kappa` for `agreement --json`,
`StageView.progress` for `status`, `dedup_review` for `dedup`), so the page can never say
something the terminal does not; `render` (page.py) writes the page; `build_report` does both.
The review's files are the only input: every string from them is escaped in the page.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..outputs import finite
from ..records import Record

# The stopping rule is evaluated on a screener's decisions in the order they were made; the
# decision files do not say whether the screen ranked the records, so the page says it assumes
# the screen's default (ranked).
STOPPING_STAGE = "title-abstract"
# A recall curve keeps at most this many points: enough for the eye, small at 100,000 records.
CURVE_POINTS = 400
# What the excluded table says when a final decision carries no reason (PRISMA's words).
_NO_REASON = {"exclude": "No reason given", "not-retrieved": "Report not retrieved"}


@dataclass
class RecallCurve:
    """One screener's inclusions found against records screened, in decision order."""

    reviewer: str
    stage: str
    total: int  # records at the stage
    screened: int
    found: int
    points: list[tuple[int, int]]  # (records screened, inclusions found so far), thinned
    statement: str  # the stopping rule's current statement, or why there is none

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviewer": self.reviewer,
            "stage": self.stage,
            "records": self.total,
            "screened": self.screened,
            "included": self.found,
            "stopping": self.statement,
        }


@dataclass
class StageReport:
    stage: str
    progress: dict[str, Any]  # StageView.progress(), as `status --json` gives it
    agreement: list[Any]  # screening.Agreement, as `agreement --json` gives them
    fleiss: tuple[float, int] | None  # pool_kappa, with three screeners or more
    conflicts: list[dict[str, Any]]  # open conflicts (screeners disagree), waiting for a resolver
    resolvers: dict[str, int]  # resolver -> decisions they made at this stage


@dataclass
class ReportData:
    title: str
    question: str
    reviewers: list[Any]  # review.Reviewer
    searches: list[Any]  # review.Search
    counts: Any  # prisma.PrismaCounts
    dedup: dict[str, Any]  # ReviewDedup.to_dict() without its timings
    pair_decisions: list[Any]  # dedup.decisions.PairDecision, the latest per pair
    stages: list[StageReport]
    curves: list[RecallCurve]
    included: list[tuple[Record, str]]  # study, who decided (agreement or the resolver)
    excluded: list[tuple[Record, str, str]]  # study, decision (exclude / not-retrieved), reason
    # study id -> (reviewer, stage, note, tags) for every decision on it with a note or tags
    notes: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    version: str = __version__
    generated: str = ""
    records_in_review: int = 0
    warnings: list[str] = field(default_factory=list)
    # record id -> its full text's state and where the file came from (fulltext.Report.to_dict)
    full_texts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Records found by citation searching: id, search, title, how each was found (chase paths).
    citations: list[tuple[str, str, str, list[str]]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The page's numbers for scripts; keys as in `prisma --format json` (prisma) and
        `agreement --json` (agreement)."""
        return finite(
            {
                "title": self.title,
                "question": self.question,
                "version": self.version,
                "generated": self.generated,
                "reviewers": [{"name": r.name, "role": r.role, "active": r.active} for r in self.reviewers],
                "searches": [
                    {
                        "name": s.name,
                        "database": s.database,
                        "kind": s.kind or "database",
                        "date_searched": s.date_searched,
                        "records": s.record_count,
                        "files": [
                            {"path": f.path, "sha256": f.sha256, "records": f.records} for f in s.files
                        ],
                    }
                    for s in self.searches
                ],
                "prisma": self.counts.to_dict(),
                "dedup": self.dedup,
                "dedup_pairs_decided": len(self.pair_decisions),
                "stages": [
                    {
                        **s.progress,
                        "open_conflicts": len(s.conflicts),
                        "fleiss_kappa_records": s.fleiss[1] if s.fleiss else 0,
                    }
                    for s in self.stages
                ],
                "agreement": [a.to_dict() for s in self.stages for a in s.agreement],
                "ranking": [c.to_dict() for c in self.curves],
                "included": [r.id for r, _ in self.included],
                "excluded": {r.id: reason for r, _, reason in self.excluded},
                "full_texts": self.full_texts,
                "warnings": list(self.warnings),
            }
        )


def report_data(review, generated: str | None = None) -> ReportData:  # noqa: ANN001 - review.Review
    """Everything the page shows, computed from the review's files."""
    from ..dedup import dedup_review
    from ..dedup.decisions import read_decisions
    from ..prisma import prisma_counts
    from ..screening import STAGES, agreement, load_stages, pool_kappa, review_studies

    config = review.config
    outcome = dedup_review(review)
    studies, member_of = review_studies(review, outcome)
    views = load_stages(review, studies, member_of, outcome)
    # The same counts as `prisma --format json`, from the same deduplication and decisions.
    counts = prisma_counts(review, outcome, [views[stage] for stage in STAGES], (studies, member_of))
    stages = []
    for stage in config.stages:
        view = views[stage]
        titles = {r.id: r.title for r in view.records}
        stages.append(
            StageReport(
                stage,
                view.progress(),
                agreement(view),
                pool_kappa(view) if len(view.screeners) > 2 else None,
                [
                    {
                        "record_id": c.record_id,
                        "kind": c.kind,
                        "title": titles.get(c.record_id, ""),
                        "decisions": {
                            n: (d.decision, d.reason, d.note, d.tags) for n, d in c.decisions.items()
                        },
                    }
                    for c in view.conflicts
                    if c.to_resolve
                ],
                {name: len(view.decisions.get(name, {})) for name in view.resolvers},
            )
        )
    study_of = {s.id: s for s in studies}
    full_text = views["full-text"]
    included = [
        (study_of[sid], full_text.final[sid].by if sid in full_text.final else "")
        for sid in counts.boxes["total_studies"]
        if sid in study_of
    ]
    excluded = [
        (study_of[sid], final.decision, final.reason or _NO_REASON[final.decision])
        for sid, final in full_text.final.items()
        if final.decision in _NO_REASON and sid in study_of
    ]
    notes: dict[str, list[tuple[str, str, str, str]]] = {}
    for stage in config.stages:
        for name, decided in views[stage].decisions.items():
            for sid, d in decided.items():
                if d.note or d.tags:
                    notes.setdefault(sid, []).append((name, stage, d.note, d.tags))
    from ..fulltext import reports

    shown = ("state", "source", "sha256", "date", "who")
    full_texts = {
        r.record.id: {k: v for k, v in r.to_dict().items() if k in shown}
        for r in reports(review, (full_text.records, member_of))[0]
    }
    dedup = outcome.to_dict()
    dedup.pop("seconds", None)  # timings differ run to run; the page shows what was found
    warnings = list(config.warnings)
    for search in review.searches():
        warnings.extend(search.warnings)
    from ..chase import provenance

    found_by = provenance(outcome.result.records)
    citations = [
        (r.id, r.search, r.title, [p.describe() for p in found_by[r.id]])
        for r in outcome.result.records
        if r.id in found_by and "chase_seed" in r.extra
    ]
    return ReportData(
        citations=citations,
        title=config.title,
        question=config.question,
        reviewers=list(config.reviewers),
        searches=review.searches(),
        counts=counts,
        dedup=dedup,
        pair_decisions=list(read_decisions(review.dedup_decisions_path).values()),
        stages=stages,
        curves=recall_curves(views[STOPPING_STAGE]) if STOPPING_STAGE in config.stages else [],
        included=included,
        excluded=excluded,
        notes=notes,
        generated=generated or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        records_in_review=outcome.records_in,
        warnings=warnings,
        full_texts=full_texts,
    )


def recall_curves(view) -> list[RecallCurve]:  # noqa: ANN001 - screening.StageView
    """Per screener: inclusions found against records screened, in the order the decisions
    were made (as the screen feeds the stopping rule), and the rule's statement now."""
    from ..screening import screener_labels, screener_stopping

    out = []
    for name in view.screeners:
        # Measured as the screen measures it: their share with an allocation, each round alone.
        total = len(view.stopping_scope(name))  # the curve's length: what their screen holds
        labels = screener_labels(view, name)
        found, points = 0, [(0, 0)]
        step = max(1, len(labels) // CURVE_POINTS)
        for k, label in enumerate(labels, start=1):
            found += label
            if k % step == 0 or k == len(labels) or label:
                points.append((k, found))
        statement = screener_stopping(view, name, labels)[0]
        out.append(RecallCurve(name, view.stage, total, len(labels), found, _thin(points), statement))
    return out


def _thin(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """At most about CURVE_POINTS points, keeping the first and last and every rise where
    they are few (a curve of a large review is drawn at a few hundred pixels anyway)."""
    if len(points) <= CURVE_POINTS:
        return points
    step = math.ceil(len(points) / CURVE_POINTS)
    return points[::step] + ([points[-1]] if (len(points) - 1) % step else [])


def build_report(review, generated: str | None = None) -> str:  # noqa: ANN001 - review.Review
    """The whole page, as HTML text."""
    from .page import render

    return render(report_data(review, generated))
