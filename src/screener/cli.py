"""The `screener` command: parse arguments, call the library, print. Nothing else lives here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .errors import ScreenerError
from .importers import FORMATS, read_records
from .review import Review, Reviewer, init_review

console = Console()
err_console = Console(stderr=True)


def review_option(function: Any) -> Any:
    return click.option(
        "--review",
        "review_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The review directory (default: the nearest folder upward with a review.toml).",
    )(function)


def json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="screener")
def cli() -> None:
    """Screen a systematic review from search to PRISMA diagram, in plain files.

    \b
    Example:
      screener init my-review && cd my-review
      screener import ~/Downloads/pubmed-export.nbib --search medline --database MEDLINE
      screener status
    """


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--title", default="", help="The review's title.")
@click.option("--question", default="", help="The review question.")
@click.option(
    "--reviewer",
    "reviewers",
    multiple=True,
    metavar="NAME[:ROLE]",
    help="A reviewer, role screener (default) or resolver; repeat for each.",
)
def init(directory: Path, title: str, question: str, reviewers: tuple[str, ...]) -> None:
    """Create a review: review.toml, searches/ and labels/.

    \b
    Example:
      screener init nets-liver --title "Liver resection for NET metastases" \\
          --reviewer alice --reviewer bob --reviewer carol:resolver
    """
    people = []
    for spec in reviewers:
        name, _, role = spec.partition(":")
        people.append(Reviewer(name, role or "screener"))
    root = init_review(directory, title=title, question=question, reviewers=people or None)
    click.echo(f"Created a review in {root}")
    click.echo("Next: edit review.toml, then 'screener import FILE --search NAME'.")


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--search", "search_name", required=True, help="Name of the search these files belong to.")
@click.option("--database", default="", help="The database searched, e.g. Embase, MEDLINE (Ovid).")
@click.option("--date-searched", default="", help="When the search was run (YYYY-MM-DD).")
@click.option("--query", default="", help="The search strategy as run.")
@click.option("--query-file", type=click.File("r", encoding="utf-8"), help="Read the query from a file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Override the format detected from the file's content.",
)
@review_option
@json_option
def import_(
    files: tuple[Path, ...],
    search_name: str,
    database: str,
    date_searched: str,
    query: str,
    query_file: Any,
    fmt: str | None,
    review_dir: Path | None,
    as_json: bool,
) -> None:
    """Import database exports into a search, keeping each raw file unchanged.

    Formats are detected from content: MEDLINE/nbib, PubMed XML, RIS (Embase, Ovid, Scopus,
    WoS, Zotero, EndNote, ProQuest, EBSCO), Web of Science tagged, CSV/TSV/Excel, BibTeX,
    EndNote XML. Every file is parsed in full before anything is written; importing the same
    file again adds nothing.

    \b
    Example:
      screener import embase.ris --search embase --database Embase \\
          --date-searched 2012-09-30 --query-file embase-strategy.txt
    """
    review = Review.find(review_dir)
    if query_file is not None:
        query = query_file.read().strip()
    parsed = []  # every file is read in full before anything is written
    for number, path in enumerate(files, start=1):
        with err_console.status(f"Reading {path} ({number} of {len(files)})"):
            parsed.append(read_records(path, fmt, search_name))
    results = []
    for path, parsed_file in zip(files, parsed, strict=True):
        result = review.import_file(
            path,
            search_name,
            fmt=fmt,
            database=database,
            date_searched=date_searched,
            query=query,
            parsed=parsed_file,
        )
        results.append(
            {
                "file": str(path),
                "search": result.search,
                "format": parsed_file.format,
                "encoding": parsed_file.encoding,
                "records": len(parsed_file.records),
                "added": result.added,
                "stored_as": f"searches/{result.stored_as}",
            }
        )
    if as_json:
        _print_json(results)
        return
    for r in results:
        if r["added"]:
            click.echo(
                f"{r['file']}: {r['records']} records ({r['format']}, {r['encoding']}) "
                f"-> search {r['search']!r}, stored as {r['stored_as']}"
            )
        else:
            click.echo(
                f"{r['file']}: already imported (search {r['search']!r}, {r['stored_as']}); nothing added"
            )


@cli.command()
@review_option
@json_option
def status(review_dir: Path | None, as_json: bool) -> None:
    """Show the review's searches, record counts and progress.

    \b
    Example:
      screener status --json
    """
    review = Review.find(review_dir)
    info = review.status()
    if as_json:
        _print_json(info)
        return
    console.print(f"[bold]{info['title']}[/bold]  ({info['review']})")
    table = Table(title="Searches", title_justify="left")
    for column in ("search", "database", "source", "date searched", "files", "records"):
        table.add_column(column, justify="right" if column in ("files", "records") else "left")
    for s in info["searches"]:
        table.add_row(
            s["name"], s["database"], s["source"], s["date_searched"], str(s["files"]), str(s["records"])
        )
    table.add_section()
    table.add_row("total", "", "", "", "", str(info["records_identified"]))
    console.print(table)
    if not info["searches"]:
        console.print("No searches yet: 'screener import FILE --search NAME' or 'screener search pubmed'.")
    people = ", ".join(f"{r['name']} ({r['role']})" for r in info["reviewers"])
    console.print(f"Reviewers: {people or 'none declared in review.toml'}")


@cli.group()
def search() -> None:
    """Run a search in a database directly (PubMed through NCBI Entrez)."""


@search.command("pubmed")
@click.option("--search", "search_name", required=True, help="Name for this search in the review.")
@click.option("--query", default=None, help="The PubMed query.")
@click.option("--query-file", type=click.File("r", encoding="utf-8"), help="Read the query from a file.")
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
    query_file: Any,
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
    from .search import PubmedSearch, load_settings

    if query_file is not None:
        query = query_file.read()
    if not query:
        raise ScreenerError("give the query with --query or --query-file")
    review = Review.find(review_dir)
    settings = load_settings()
    from .search.entrez import EntrezClient

    with _progress("Fetching PubMed records") as (progress, task):
        client = EntrezClient(
            settings, on_retry=lambda message: progress.console.print(f"[yellow]{message}[/yellow]")
        )
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
        _print_json(info)
        return
    where = f" in {info['stored_as']}" if info["stored_as"] else ""
    click.echo(
        f"PubMed: {info['count']} found, {info['records']} records stored{where}"
        f"{' (resumed)' if result.resumed else ''}"
    )
    gap = result.search.pubmed.get("count_not_in_date_slices", 0)
    if gap:
        click.echo(f"warning: {gap} records fell outside the date slices", err=True)


class _progress:
    """A rich progress bar on stderr, so --json output on stdout stays clean."""

    def __init__(self, description: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        )
        self.description = description

    def __enter__(self) -> tuple[Progress, Any]:
        self.progress.start()
        return self.progress, self.progress.add_task(self.description, total=None)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        cli.main(args=argv, prog_name="screener", standalone_mode=False)
    except ScreenerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted; run the command again to resume.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
