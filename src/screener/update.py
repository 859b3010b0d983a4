"""Updating a review: a new round of searches, deduplicated against everything the review has.

`update_review` opens round N+1, re-runs saved PubMed searches (see search.pubmed.update_pubmed)
and imports new exports into it. Deduplication then runs over every round together, so a new
record that is a copy of anything already found (screened or not) joins that study and is
never screened again; only new unique studies enter screening. PRISMA shows the latest round
with the studies of earlier rounds as "previous studies" (`prisma --round N` an earlier one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ScreenerError
from .names import check_name
from .review import SEARCH_NAME_HINT, Review

Progress = Callable[[int, int], None]


@dataclass
class UpdateReport:
    round: int
    pubmed: list[Any] = field(default_factory=list)  # search.pubmed.PubmedUpdate per search
    imported: list[dict[str, Any]] = field(default_factory=list)  # {search, file, records, empty, added}
    identified: int = 0  # records of this round
    duplicates: int = 0  # removed: copies of earlier rounds or of each other
    new_studies_to_screen: int = 0
    previous_studies: int = 0
    # What the round before this one left undone (records not final, conflicts): said, not refused.
    unfinished: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "pubmed": [u.to_dict() for u in self.pubmed],
            "imported": self.imported,
            "records_identified": self.identified,
            "duplicates_removed": self.duplicates,
            "new_studies_to_screen": self.new_studies_to_screen,
            "previous_studies_included": self.previous_studies,
            "unfinished_before": self.unfinished,
        }


def pubmed_searches(review: Review) -> list[str]:
    return [s.name for s in review.searches() if s.source == "pubmed"]


def check_pubmed_searches(review: Review, names: Sequence[str]) -> None:
    """Every name is a saved search that was run through PubMed."""
    known = {s.name: s for s in review.searches()}
    for name in names:
        if name not in known:
            raise ScreenerError(f"no search {name!r} in this review", hint="'screener status' lists them")
        if known[name].source != "pubmed":
            raise ScreenerError(
                f"search {name!r} was imported from a file, not run through PubMed",
                hint=f"import the new export instead: screener update --import {name}=FILE",
            )


def update_review(
    review: Review,
    searches: Sequence[str] = (),
    imports: Sequence[tuple[str, str | Path]] = (),
    *,
    fmt: str | None = None,
    database: str = "",
    date_searched: str = "",
    settings: Any = None,  # search.entrez.EntrezSettings; needed when `searches` is not empty
    client: Any = None,
    progress: Progress | None = None,
) -> UpdateReport:
    """Open a new round: re-run the named PubMed searches, import (search name, file) pairs.

    Every import file is parsed before anything is written, so a bad file leaves the review
    as it was. A search that is interrupted leaves no file behind. `database` and
    `date_searched` apply to every import (a new search takes the database; each file keeps its
    search date).
    """
    from .importers import read_records

    if not searches and not imports:
        raise ScreenerError(
            "nothing to update: no PubMed search to re-run and no --import",
            hint="--all re-runs searches made with 'screener search pubmed'; new exports: --import NAME=FILE",
        )
    check_pubmed_searches(review, searches)
    known = {s.name: s for s in review.searches()}
    for name, _ in imports:  # every name before any file is read or written
        check_name(name, "search name", hint=SEARCH_NAME_HINT)
    parsed = []
    for name, path in imports:
        if name in known and known[name].source != "file":
            raise ScreenerError(
                f"search {name!r} is run through PubMed; new exports go under another search name"
            )
        parsed.append((name, path, read_records(path, fmt, name)))

    with review.lock():  # no import or other update can interleave with this round
        # Everything the round's report reads is read once before anything is written: a damaged
        # file elsewhere in the review refuses the update instead of failing halfway through it.
        from .prisma import prisma_counts

        before = prisma_counts(review)
        from .dedup.split_ids import record_splits

        record_splits(review)  # ids split so far stay with their records, whatever the round brings
        # Every file's search checked before the first is written: a refused update writes nothing.
        spelled: dict[str, str] = {}
        for name, _, _ in parsed:
            other = spelled.setdefault(name.casefold(), name)
            if other != name:
                raise ScreenerError(f"--import names {other!r} and {name!r} differ only in case")
            existing = known.get(name)
            review.import_target(
                name,
                database or (existing.database if existing else name),
                date_searched,
                "",
                existing.kind if existing else "",
                review.current_round() + 1,
            )
        # What the round before still waits for is said, not refused.
        unfinished = [before.in_progress_text()] if before.in_progress and review.config.reviewers else []
        report = _open_round(
            review, searches, parsed, known, settings, client, progress, database, date_searched
        )
        report.unfinished = unfinished
        try:
            record_splits(review)
        except ScreenerError:  # the round is in; what blocks dedup, every later command says
            pass
        return report


def _open_round(
    review: Review,
    searches: Sequence[str],
    parsed: list[tuple[str, str | Path, Any]],
    known: dict[str, Any],
    settings: Any,
    client: Any,
    progress: Progress | None,
    database: str,
    date_searched: str,
) -> UpdateReport:
    from .prisma import prisma_counts

    round = review.current_round() + 1
    report = UpdateReport(round)
    if searches:
        from .search.pubmed import update_pubmed, write_pubmed_update

        if settings is None:
            raise ScreenerError("re-running PubMed searches needs NCBI settings")
        # Every search is fetched before anything is written: one failing leaves the review as it was.
        for name in searches:
            report.pubmed.append(
                update_pubmed(review, name, round=round, settings=settings, client=client, progress=progress)
            )
        for update in report.pubmed:
            write_pubmed_update(review, update)
    for name, path, parsed_file in parsed:
        existing = known.get(name)
        result = review.import_file(
            path,
            name,
            database=database or (existing.database if existing else name),
            date_searched=date_searched,
            parsed=parsed_file,
            kind=existing.kind if existing else "",
            round=round,
        )
        report.imported.append(
            {
                "search": name,
                "file": result.stored_as,
                "records": len(parsed_file.records),
                "empty": len(parsed_file.empty),  # kept out of screening (empty_warning says so)
                "warnings": list(parsed_file.warnings),
                "added": result.added,
            }
        )
    counts = prisma_counts(review)
    report.round = counts.round  # unchanged when every import was already in the review
    if counts.round == round:
        report.identified = counts.identified
        report.duplicates = counts.count("duplicates")
        report.new_studies_to_screen = counts.screened
        report.previous_studies = counts.count("previous_studies")
    return report
