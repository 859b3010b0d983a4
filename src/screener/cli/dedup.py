"""Deduplication: dedup, on a review or on a file, and the review of uncertain pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from ..errors import ScreenerError
from ..importers import FORMATS
from ..words import plural
from . import cli
from .common import (
    Table,
    console,
    err_console,
    find_review,
    json_option,
    print_json,
    write_csv,
)


@cli.command()
@click.option(
    "--input",
    "inputs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Deduplicate these files instead of a review (repeat for several).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --input: write each record's id and cluster here (CSV).",
)
@click.option("--id-column", default=None, help="With --input: the id column of CSV/TSV inputs.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default=None, help="Format of the --input files."
)
@click.option(
    "--pairs-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every compared pair with its scores, label and explanation (CSV).",
)
@click.option(
    "--review",
    "interactive",
    is_flag=True,
    help="Decide the uncertain pairs in the terminal: same, different or skip.",
)
@click.option("--reviewer", default=None, help="Your name, recorded with your decisions (default: $USER).")
@click.option(
    "--carry-decisions",
    is_flag=True,
    help="Where dedup split an id (one DOI on records it keeps apart), append each decision made "
    "while the id was shared to the split record too, in the same reviewer's file.",
)
@json_option
def dedup(
    inputs: tuple[Path, ...],
    output: Path | None,
    id_column: str | None,
    fmt: str | None,
    pairs_out: Path | None,
    interactive: bool,
    reviewer: str | None,
    carry_decisions: bool,
    as_json: bool,
) -> None:
    """Find duplicate records across all searches (or in files), explain each merge.

    Identifiers (PMID, DOI) and fuzzy comparison of title, authors, year, journal, volume,
    pages and abstract decide; errata, comments, conference abstracts, protocols and parts of a
    series are kept apart from the articles they resemble. Pairs the rules cannot settle are
    "uncertain": decide them with --review; decisions go to labels/dedup.csv and every later
    run honours them. The review directory: `screener --review DIR dedup`, or found upward.

    \b
    Examples:
      screener dedup                      # the review's searches: a report per search
      screener dedup --review             # decide the uncertain pairs
      screener dedup --carry-decisions    # decisions made on an id dedup has since split
      screener dedup --input a.ris --input b.csv --output clusters.csv --pairs-out pairs.csv
    """
    from .. import dedup as dd
    from ..outputs import check_output_file

    for path in (output, pairs_out):
        if path is not None:
            check_output_file(path)  # before any work: a bad path costs nothing
    if inputs:
        if interactive or carry_decisions:
            raise ScreenerError("--review and --carry-decisions work on a review; not with --input")
        with err_console.status("Deduplicating"):
            ids, result = dd.dedup_files([str(p) for p in inputs], id_column, fmt)
        kept = set(result.representatives())
        rows = [
            {"id": ids[i], "cluster_id": int(result.cluster_of[i]), "kept": int(i in kept)}
            for i in range(len(ids))
        ]
        if output:
            write_csv(output, ["id", "cluster_id", "kept"], rows)
        if pairs_out:
            _write_pairs(pairs_out, result, {str(i): ids[i] for i in range(len(ids))})
        summary = {
            "records": len(ids),
            "clusters": len(kept),
            "duplicates_removed": len(ids) - len(kept),
            "uncertain": len(dd.pending_pairs(result)),
            "pairs_compared": result.compared,
        }
        if as_json:
            print_json(summary)
        else:
            click.echo(
                f"{summary['records']} records, {summary['duplicates_removed']} duplicates, "
                f"{summary['clusters']} unique; {summary['uncertain']} uncertain pairs"
                + (f"; clusters in {output}" if output else "")
            )
        return

    review = find_review(None)
    if interactive:
        from ..dedup.review_pairs import review_pairs
        from ..screening.screen import require_terminal

        require_terminal("screener dedup --review", "run it in a terminal; without --review dedup needs none")
    with err_console.status("Deduplicating the review's searches"):
        outcome = dd.dedup_review(review, keep_distinct_pairs=bool(pairs_out))
    if interactive:
        decided = review_pairs(review, outcome, reviewer, console)
        if decided:
            with err_console.status("Deduplicating again with your decisions"):
                outcome = dd.dedup_review(review, keep_distinct_pairs=bool(pairs_out))
    if pairs_out:
        _write_pairs(pairs_out, outcome.result, None, [f.path for _, f, _ in review.record_files()])
    from ..dedup.split_ids import record_splits
    from ..screening.split_ids import carry_decisions as carry
    from ..screening.split_ids import carry_plan, split_ids

    record_splits(review, outcome)
    splits = split_ids(review, outcome)
    plan = carry_plan(review, splits)
    carried = carry(review, plan) if carry_decisions and plan else 0
    from ..screening.screen import leave_studies

    with err_console.status("Storing the studies for the screen"):  # seconds at 100,000 records
        leave_studies(review)  # computed afresh: the split ids just recorded are an input
    if output:
        kept = set(outcome.kept)
        records = outcome.result.records
        representative = {int(outcome.result.cluster_of[i]): records[i].id for i in kept}
        rows = [
            {
                "record_id": r.id,
                "search": r.search,
                "cluster_id": int(outcome.result.cluster_of[i]),
                "kept": int(i in kept),
                "kept_record_id": representative[int(outcome.result.cluster_of[i])],
            }
            for i, r in enumerate(records)
        ]
        write_csv(output, ["record_id", "search", "cluster_id", "kept", "kept_record_id"], rows)
    if as_json:
        data = outcome.to_dict()
        data["split_ids"] = [
            {"shared_id": s.shared_id, "split_id": s.split_id, "search": s.search} for s in splits
        ]
        data["decisions_to_carry" if not carry_decisions else "decisions_carried"] = len(plan)
        print_json(data)
        return
    table = Table(title="Deduplication", title_justify="left")
    for column in ("search", "database", "records", "duplicates removed", "unique"):
        table.add_column(column, justify="left" if column in ("search", "database") else "right")
    for s in outcome.searches:
        table.add_row(s.name, s.database, str(s.records), str(s.duplicates_removed), str(s.unique))
    table.add_section()
    table.add_row(
        "total", "", str(outcome.records_in), str(outcome.duplicates_removed), str(len(outcome.kept))
    )
    console.print(table)
    if outcome.pending:
        waiting = len(outcome.pending)
        said = f"{plural(waiting, 'uncertain pair')} wait{'s' if waiting == 1 else ''} for a person"
        console.print(f"{said}: screener dedup --review")
    _print_splits(splits, plan, carried)


def _print_splits(splits: list[Any], plan: list[Any], carried: int) -> None:
    if not splits:
        return
    console.print(
        Text(
            f"{len(splits)} ids split: one id named records dedup keeps apart, so the one found first "
            "keeps it and the other takes the id shown (docs/review-format.md, 'Records and their ids')"
        )
    )
    table = Table()
    for column in ("shared id", "split id", "search", "title"):
        table.add_column(column)
    for split in splits:
        table.add_row(split.shared_id, split.split_id, split.search, split.title)
    console.print(table)
    if carried:
        console.print(f"{carried} decisions carried to the split ids (appended, with a note saying so)")
    elif plan:
        console.print(
            f"{len(plan)} decisions were made while the id was shared and can be carried to the split "
            "record: screener dedup --carry-decisions"
        )


def _write_pairs(
    path: Path, result: Any, rename: dict[str, str] | None, files: list[str] | None = None
) -> None:
    """Every pair compared, with the outcome and why; in a review (`files`: the stored file of
    each record of result.records), each record's search and file beside its id: which export
    a person opens to look at it. A score that was not computed (no abstract on one side, a
    person's decision) is left blank."""

    def name(record_id: str) -> str:
        return rename.get(record_id, record_id) if rename else record_id

    def where(pair: Any, second: bool) -> dict[str, str]:
        """By the record's position: two copies of one DOI in two searches share their id."""
        if files is None:
            return {}
        index = pair.index_2 if second else pair.index_1
        known = 0 <= index < len(result.records)
        side = "2" if second else "1"
        return {
            f"search_{side}": result.records[index].search if known else "",
            f"file_{side}": files[index] if known and index < len(files) else "",
        }

    def score(value: float) -> float | str:
        return round(value, 1) if value >= 0 else ""

    rows = [
        {
            "id_1": name(p.id_1),
            **where(p, False),
            "id_2": name(p.id_2),
            **where(p, True),
            "label": p.label,
            "same_study": "yes" if together else "no",
            "title": score(p.title),
            "authors": score(p.authors),
            "abstract": score(p.abstract),
            "decided_by": p.decided_by,
            "explanation": explanation,
        }
        for p, (together, explanation) in zip(result.pairs, result.pair_outcomes(), strict=True)
    ]
    where_columns = ["id_1", "search_1", "file_1", "id_2", "search_2", "file_2"]
    sides = ["id_1", "id_2"] if files is None else where_columns
    header = [*sides, "label", "same_study", "title", "authors", "abstract", "decided_by", "explanation"]
    write_csv(path, header, rows)
