"""Searching PubMed and updating the review: search pubmed, update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from ..errors import ScreenerError
from ..names import check_name
from ..records import safe_text
from ..review import SEARCH_NAME_HINT
from ..textio import read_user_text
from ..words import plural
from . import cli
from .common import (
    find_review,
    json_option,
    print_json,
    progress_bar,
    review_option,
)


def _entrez_client(settings: Any, progress: Any) -> Any:
    """An Entrez client that reports each retry above the progress bar."""
    from ..search.entrez import EntrezClient

    # Server text (an error, a count) may hold "[/x]": a Text is never read as markup.
    return EntrezClient(
        settings,
        on_retry=lambda message: progress.console.print(Text(safe_text(message), style="yellow")),
    )


@cli.group()
def search() -> None:
    """Run a search in a database directly (PubMed through NCBI Entrez).

    \b
    Example:
      NCBI_EMAIL=me@example.org screener search pubmed --search medline --query-file strategy.txt
    """


@search.command("pubmed")
@click.option("--search", "search_name", required=True, help="Name for this search in the review.")
@click.option("--query", default=None, help="The PubMed query.")
@click.option(
    "--query-file",
    type=click.Path(path_type=Path),
    help="Read the query from a text file (UTF-8, UTF-16 or Windows-1252).",
)
@click.option("--mindate", default="", help="Earliest date (YYYY, YYYY/MM or YYYY/MM/DD).")
@click.option("--maxdate", default="", help="Latest date (YYYY, YYYY/MM or YYYY/MM/DD).")
@click.option(
    "--datetype",
    type=click.Choice(["edat", "pdat", "mdat", "crdt"]),
    default="edat",
    show_default=True,
    help="Which date --mindate/--maxdate and date slicing use.",
)
@click.option("--restart", is_flag=True, help="Discard an interrupted run instead of resuming it.")
@review_option
@json_option
def search_pubmed(
    search_name: str,
    query: str | None,
    query_file: Path | None,
    mindate: str,
    maxdate: str,
    datetype: str,
    restart: bool,
    review_dir: Path | None,
    as_json: bool,
) -> None:
    """Search PubMed and store every record as MEDLINE, with full provenance.

    Uses NCBI_EMAIL and NCBI_API_KEY from the environment (or [ncbi] in
    ~/.config/screener/config.toml); they are never written into the review. Keeps NCBI's
    rate limit, retries with backoff, splits result sets over 9,999 by date, and resumes an
    interrupted run from its last complete batch.

    \b
    Example:
      NCBI_EMAIL=me@example.org screener search pubmed --search medline \\
          --query-file strategy.txt --maxdate 2012/09/30 --datetype pdat
    """
    from ..search import PubmedSearch, load_settings

    if query_file is not None:
        query = read_user_text(query_file, "query file")
    if not query:
        raise ScreenerError("give the query with --query or --query-file")
    review = find_review(review_dir)
    check_name(search_name, "search name", hint=SEARCH_NAME_HINT)  # before a progress bar is drawn
    settings = load_settings()

    with progress_bar("Fetching PubMed records") as (progress, task):
        client = _entrez_client(settings, progress)
        runner = PubmedSearch(
            review,
            search_name,
            query,
            mindate=mindate,
            maxdate=maxdate,
            datetype=datetype,
            settings=settings,
            client=client,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        result = runner.run(restart=restart)
    info = {
        "search": result.search.name,
        "count": result.count,
        "records": result.fetched,
        "requests": result.requests,
        "resumed": result.resumed,
        "query_translation": result.search.pubmed.get("query_translation", ""),
        "stored_as": f"searches/{result.search.files[0].path}" if result.search.files else None,
    }
    if as_json:
        print_json(info)
        return
    where = f" in {info['stored_as']}" if info["stored_as"] else ""
    click.echo(
        f"PubMed: {info['count']} found, {info['records']} records stored{where}"
        f"{' (resumed)' if result.resumed else ''}"
    )
    gap = result.search.pubmed.get("count_not_in_date_slices", 0)
    if gap:
        click.echo(f"warning: {gap} records fell outside the date slices", err=True)


@cli.command()
@click.option("--search", "search_names", multiple=True, help="Re-run this saved PubMed search (repeatable).")
@click.option("--all", "all_searches", is_flag=True, help="Re-run every saved PubMed search.")
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="NAME=FILE",
    help="Import a new export into search NAME (existing or new), e.g. embase=embase-2025.ris.",
)
@click.option("--format", "fmt", default=None, help="Format of the --import files (default: detected).")
@click.option("--database", default="", help="With --import: the database searched (for a new search).")
@click.option("--date-searched", default="", help="With --import: when the new search was run (YYYY-MM-DD).")
@review_option
@json_option
def update(
    search_names: tuple[str, ...],
    all_searches: bool,
    imports: tuple[str, ...],
    fmt: str | None,
    database: str,
    date_searched: str,
    review_dir: Path | None,
    as_json: bool,
) -> None:
    """Update the review: a new round of searches; only new unique studies enter screening.

    Re-runs saved PubMed searches (the whole query again, diffed by PMID, so records entered
    since the last run and records indexed late are both caught; only new PMIDs are fetched)
    and imports new exports. Everything is deduplicated against all the review already holds,
    screened records included. 'screener prisma' then draws the updated-review flow.

    \b
    Examples:
      screener update --all
      screener update --search medline --import embase=embase-2025-06.ris
      screener update --import cinahl=cinahl.ris --database CINAHL --date-searched 2025-06-30
    """
    from ..update import check_pubmed_searches, pubmed_searches, update_review

    review = find_review(review_dir)
    names = list(search_names)
    if all_searches:
        names += [n for n in pubmed_searches(review) if n not in names]
    pairs = []
    for item in imports:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ScreenerError(f"--import {item!r}: write it as NAME=FILE, e.g. embase=embase-2025.ris")
        pairs.append((name, Path(path)))
    if (database or date_searched) and not pairs:
        raise ScreenerError("--database and --date-searched describe --import files; give --import NAME=FILE")
    check_pubmed_searches(review, names)
    settings = client = None
    if names:
        from ..search import load_settings

        settings = load_settings()
    # Only a PubMed re-run has something to show progress of.
    with progress_bar("Fetching new PubMed records", hidden=not names) as (progress, task):
        if names:
            client = _entrez_client(settings, progress)
        report = update_review(
            review,
            names,
            pairs,
            fmt=fmt,
            database=database,
            date_searched=date_searched,
            settings=settings,
            client=client,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if as_json:
        print_json(report.to_dict())
        return
    if not report.pubmed and not any(item["added"] for item in report.imported):
        click.echo(f"Nothing new: every file was imported before; the review stays at round {report.round}.")
        return
    for item in report.imported:
        for warning in item["warnings"] if item["added"] else []:
            click.echo(f"warning: {warning}", err=True)
        if item["added"] and item["empty"]:
            click.echo(
                f"warning: searches/{item['file']}: {plural(item['empty'], 'empty record')} "
                "kept out of screening "
                "(PRISMA: removed before screening, other reasons); the file is stored unchanged",
                err=True,
            )
    for item in report.unfinished:
        click.echo(f"warning: the previous round is unfinished ({item}); the update went ahead", err=True)
    click.echo(f"Update round {report.round}:")
    for u in report.pubmed:
        split = ""
        if u.since_last_run is not None:
            split = f" ({u.since_last_run} entered since {u.last_run[:10]}, {u.indexed_late} indexed late)"
        where = f" -> searches/{u.stored_as}" if u.stored_as else ""
        click.echo(f"  {u.search}: {u.count} found now, {u.new} new{split}{where}")
    for item in report.imported:
        state = f"-> searches/{item['file']}" if item["added"] else "(already imported; nothing added)"
        click.echo(f"  {item['search']}: {item['records']} records {state}")
    click.echo(
        f"{report.identified} records identified in this round, {report.duplicates} duplicates removed "
        f"(of earlier rounds or of each other), {report.new_studies_to_screen} new studies to screen; "
        f"{report.previous_studies} studies included after full text in earlier rounds."
    )
