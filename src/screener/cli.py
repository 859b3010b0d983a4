"""The `screener` command: parse arguments, call the library, print. Nothing else lives here."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table as RichTable
from rich.text import Text

from . import __version__
from .errors import ScreenerError
from .importers import FORMATS, read_records
from .names import check_name
from .prisma import KINDS as SEARCH_KINDS
from .review import SEARCH_NAME_HINT, Review, Reviewer, init_review
from .textio import read_user_text


class _Console(Console):
    """Rich's console, but a reader that stops reading (`screener status | head -1`) ends the
    command quietly with success, as a pipe's consumer asked, not with exit code 1."""

    def on_broken_pipe(self) -> None:
        import os

        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0)


console = _Console()
err_console = _Console(stderr=True)


class Table(RichTable):
    """A rich table whose cells and title are plain text: a title, a database name or an id
    holding "[/b]" comes from a review file or an export and must never be read as markup."""

    def __init__(self, *args: Any, title: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, title=Text(title) if isinstance(title, str) else title, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        # A narrow terminal folds a cell onto more lines; it never cuts an id or a title with
        # "…", which would make two records look alike and an id impossible to copy.
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)


def review_option(function: Any) -> Any:
    return click.option(
        "--review",
        "review_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The review directory (default: the nearest folder upward with a review.toml).",
    )(function)


def _find_review(review_dir: Path | None) -> Review:
    """The review named on the command, else on the group (`screener --review DIR ...`), else
    the nearest one upward from here."""
    if review_dir is None:
        context = click.get_current_context(silent=True)
        while context is not None and review_dir is None:
            review_dir = (context.obj or {}).get("review_dir") if isinstance(context.obj, dict) else None
            context = context.parent
    review = Review.find(review_dir)
    # Every command validates review.toml and the searches before it acts, and says once what
    # they hold that screener ignores.
    warnings = list(review.config.warnings)
    for search in review.searches():
        warnings.extend(search.warnings)
    for warning in warnings:
        err_console.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    return review


def json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def _print_json(data: Any) -> None:
    """Strict JSON: an undefined number (kappa with no overlap) is null, never NaN."""
    click.echo(json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="screener")
@click.option(
    "--review",
    "review_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The review directory, for every command (default: found upward from here).",
)
@click.pass_context
def cli(ctx: click.Context, review_dir: Path | None) -> None:
    """Screen a systematic review from search to PRISMA diagram, in plain files.

    \b
    Example:
      screener init my-review && cd my-review
      screener import ~/Downloads/pubmed-export.nbib --search medline --database MEDLINE
      screener status
    """
    ctx.obj = {"review_dir": review_dir}


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
@click.option(
    "--query-file",
    type=click.Path(path_type=Path),
    help="Read the query from a text file (UTF-8, UTF-16 or Windows-1252).",
)
@click.option(
    "--kind",
    type=click.Choice(SEARCH_KINDS),
    default=None,
    help="Where the records come from, for PRISMA (default: database).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Override the format detected from the file's content.",
)
@click.option(
    "--allow-overlap",
    is_flag=True,
    help="Import a file even when 90% or more of its records are in the search already.",
)
@review_option
@json_option
def import_(
    files: tuple[Path, ...],
    search_name: str,
    database: str,
    date_searched: str,
    query: str,
    query_file: Path | None,
    kind: str | None,
    fmt: str | None,
    allow_overlap: bool,
    review_dir: Path | None,
    as_json: bool,
) -> None:
    """Import database exports into a search, keeping each raw file unchanged.

    Formats are detected from content: MEDLINE/nbib, PubMed XML, RIS (Embase, Ovid, Scopus,
    WoS, Zotero, EndNote, ProQuest, EBSCO), Web of Science tagged, CSV/TSV/Excel, BibTeX,
    EndNote XML. Every file is parsed in full before anything is written; importing the same
    file again adds nothing, and a file whose records are 90% or more in the search already
    (the same export under another name) is refused unless --allow-overlap.

    \b
    Example:
      screener import embase.ris --search embase --database Embase \\
          --date-searched 2012-09-30 --query-file embase-strategy.txt
    """
    review = _find_review(review_dir)
    if query_file is not None:
        query = read_user_text(query_file, "query file").strip()
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
            kind=kind or "",
            allow_overlap=allow_overlap,
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
    review = _find_review(review_dir)
    info = review.status()
    if info["records_identified"] and review.config.reviewers:
        from .screening import progress_all

        with err_console.status("Reading decisions"):
            info["stages"] = progress_all(review)
    if as_json:
        _print_json(info)
        return
    console.print(Text(info["title"], style="bold"), Text(f" ({info['review']})"))
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
    for stage in info.get("stages", []):
        table = Table(title=f"Screening: {stage['stage']} ({stage['records']} records)", title_justify="left")
        for column in ("reviewer", "screened", "included", "still need their vote"):
            table.add_column(column, justify="left" if column == "reviewer" else "right")
        for name, p in stage["reviewers"].items():
            table.add_row(
                name, f"{p['screened']} / {p['total']}", str(p["included"]), str(stage["waiting_for"][name])
            )
        console.print(table)
        console.print(
            f"  final: {stage['included']} included, {stage['excluded']} excluded"
            + (f", {stage['not_retrieved']} not retrieved" if stage["not_retrieved"] else "")
            + f"; {stage['conflicts_to_resolve']} conflicts to resolve"
            + f"; {stage['screened_by_some_only']} screened by one screener only"
        )
        if stage["decisions_on_ids_not_in_review"]:
            console.print(
                f"  {stage['decisions_on_ids_not_in_review']} decisions point at ids that are not in the "
                "review ('screener check' lists them)"
            )
        if stage["interrupted_lines_skipped"]:
            console.print(
                f"  {stage['interrupted_lines_skipped']} lines cut by an interrupted write are ignored "
                "('screener check' lists them)"
            )


@cli.command()
@review_option
@json_option
def check(review_dir: Path | None, as_json: bool) -> None:
    """Verify the whole review: exit 1 when anything is corrupt, 0 otherwise.

    Checks review.toml and searches/*.toml against their schema, every raw export against its
    sha256 and record count, every decision file (well formed, ids that are records of the
    review), symlinks, and leftovers of interrupted commands. Work still open (undecided
    duplicate pairs, records to screen, conflicts, an interrupted PubMed search) is listed
    but is no failure. Run it before every commit (see README, "Trust and safety").

    \b
    Example:
      screener check
      screener check --json
    """
    from .check import check_review

    # Not _find_review: a review.toml that does not validate is a finding here, not an error.
    review = Review.find(review_dir or (click.get_current_context().find_root().obj or {}).get("review_dir"))
    with err_console.status("Checking the review"):
        report = check_review(review)
    if as_json:
        _print_json(report.to_dict())
    else:
        for line in report.problems:
            click.echo(f"problem: {line}")
        for line in report.warnings:
            click.echo(f"warning: {line}")
        for line in report.open_work:
            click.echo(f"open: {line}")
        verdict = "OK" if report.ok else f"{len(report.problems)} problems"
        click.echo(
            f"{verdict}: {report.files_verified} raw files verified, {report.decisions_read} decisions read, "
            f"{len(report.open_work)} open items"
        )
    if not report.ok:
        sys.exit(1)


def _warn_about_decision_files(view: Any) -> None:
    """Say on stderr what the decision files hold that counts for nothing."""

    def warn(text: str) -> None:
        err_console.print(Text(f"warning: {text}", style="yellow"), soft_wrap=True)

    def some(ids: list[str]) -> str:
        return ", ".join(ids[:3]) + (" ..." if len(ids) > 3 else "")

    for reviewer, ids in view.not_in_review.items():
        warn(
            f"{len(ids)} of {reviewer}'s {view.stage} decisions point at ids that are not in the review "
            f"({some(ids)}); 'screener check' lists them"
        )
    for line in view.interrupted_lines:
        warn(line)
    for reviewer, studies in view.copies_disagree.items():
        warn(
            f"{reviewer} decided differently on copies of {len(studies)} {view.stage} studies that "
            f"deduplication merged ({some(studies)}); their latest decision counts"
        )


def _entrez_client(settings: Any, progress: Any) -> Any:
    """An Entrez client that reports each retry above the progress bar."""
    from .search.entrez import EntrezClient

    return EntrezClient(
        settings, on_retry=lambda message: progress.console.print(f"[yellow]{message}[/yellow]")
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
    from .search import PubmedSearch, load_settings

    if query_file is not None:
        query = read_user_text(query_file, "query file")
    if not query:
        raise ScreenerError("give the query with --query or --query-file")
    review = _find_review(review_dir)
    check_name(search_name, "search name", hint=SEARCH_NAME_HINT)  # before a progress bar is drawn
    settings = load_settings()

    with _progress("Fetching PubMed records") as (progress, task):
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
    from .update import check_pubmed_searches, pubmed_searches, update_review

    review = _find_review(review_dir)
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
        from .search import load_settings

        settings = load_settings()
    # Only a PubMed re-run has something to show progress of.
    with _progress("Fetching new PubMed records", hidden=not names) as (progress, task):
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
        _print_json(report.to_dict())
        return
    if not report.pubmed and not any(item["added"] for item in report.imported):
        click.echo(f"Nothing new: every file was imported before; the review stays at round {report.round}.")
        return
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
        f"{report.previous_studies} studies included before."
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
@json_option
def dedup(
    inputs: tuple[Path, ...],
    output: Path | None,
    id_column: str | None,
    fmt: str | None,
    pairs_out: Path | None,
    interactive: bool,
    reviewer: str | None,
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
      screener dedup --input a.ris --input b.csv --output clusters.csv --pairs-out pairs.csv
    """
    from . import dedup as dd
    from .outputs import check_output_file

    for path in (output, pairs_out):
        if path is not None:
            check_output_file(path)  # before any work: a bad path costs nothing
    if inputs:
        if interactive:
            raise ScreenerError("--review decides pairs of a review; it does not go with --input")
        with err_console.status("Deduplicating"):
            ids, result = dd.dedup_files([str(p) for p in inputs], id_column, fmt)
        kept = set(result.representatives())
        rows = [
            {"id": ids[i], "cluster_id": int(result.cluster_of[i]), "kept": int(i in kept)}
            for i in range(len(ids))
        ]
        if output:
            _write_csv(output, ["id", "cluster_id", "kept"], rows)
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
            _print_json(summary)
        else:
            click.echo(
                f"{summary['records']} records, {summary['duplicates_removed']} duplicates, "
                f"{summary['clusters']} unique; {summary['uncertain']} uncertain pairs"
                + (f"; clusters in {output}" if output else "")
            )
        return

    review = _find_review(None)
    if interactive:
        from .screening.screen import require_terminal

        require_terminal("screener dedup --review", "run it in a terminal; without --review dedup needs none")
    with err_console.status("Deduplicating the review's searches"):
        outcome = dd.dedup_review(review, keep_distinct_pairs=bool(pairs_out))
    if interactive:
        decided = _review_pairs(review, outcome, reviewer)
        if decided:
            with err_console.status("Deduplicating again with your decisions"):
                outcome = dd.dedup_review(review, keep_distinct_pairs=bool(pairs_out))
    if pairs_out:
        _write_pairs(pairs_out, outcome.result, None)
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
        _write_csv(output, ["record_id", "search", "cluster_id", "kept", "kept_record_id"], rows)
    if as_json:
        _print_json(outcome.to_dict())
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
        console.print(f"{len(outcome.pending)} uncertain pairs wait for a person: screener dedup --review")


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """A CSV the user asked for, to open in a spreadsheet: cells that start like a formula are
    quoted (ids and explanations come from exports), written atomically where asked."""
    from .outputs import people_csv, write_output

    write_output(path, people_csv(columns, rows))


def _write_pairs(path: Path, result: Any, rename: dict[str, str] | None) -> None:
    def name(record_id: str) -> str:
        return rename.get(record_id, record_id) if rename else record_id

    rows = [
        {
            "id_1": name(p.id_1),
            "id_2": name(p.id_2),
            "label": p.label,
            "same_study": "yes" if together else "no",
            "title": round(p.title, 1),
            "authors": round(p.authors, 1),
            "abstract": round(p.abstract, 1),
            "decided_by": p.decided_by,
            "explanation": explanation,
        }
        for p, (together, explanation) in zip(result.pairs, result.pair_outcomes(), strict=True)
    ]
    _write_csv(path, list(rows[0]) if rows else ["id_1", "id_2", "label", "same_study", "explanation"], rows)


def _review_pairs(review: Review, outcome: Any, reviewer: str | None) -> int:
    """Show each pending uncertain pair side by side; s = same, d = different, k = skip, q = quit."""
    import os

    from .dedup.decisions import append_decision, pair_key, read_decisions

    who = reviewer or os.environ.get("USER") or "reviewer"
    by_id = {}
    for record in outcome.result.records:
        by_id.setdefault(record.id, record)
    path = review.dedup_decisions_path
    earlier = read_decisions(path)  # a skipped pair comes back: say who skipped it and when
    decided = 0
    pending = outcome.pending
    if not pending:
        console.print("No uncertain pairs to decide.")
        return 0
    for number, pair in enumerate(pending, start=1):
        a, b = by_id[pair.id_1], by_id[pair.id_2]
        table = Table(
            title=f"Pair {number} of {len(pending)}: {pair.reason.split(':')[0]}",
            title_justify="left",
            show_lines=True,
            expand=True,
        )
        table.add_column("", style="bold", width=9)
        table.add_column(f"{a.id} ({a.search})", ratio=1)
        table.add_column(f"{b.id} ({b.search})", ratio=1)
        for label, getter in (
            ("title", lambda r: r.title),
            ("authors", lambda r: "; ".join(r.authors[:6])),
            ("year", lambda r: str(r.year or "")),
            ("journal", lambda r: r.journal or r.journal_abbrev),
            ("volume", lambda r: f"{r.volume} ({r.issue})" if r.issue else r.volume),
            ("pages", lambda r: r.pages),
            ("doi", lambda r: r.doi),
            ("pmid", lambda r: r.pmid),
            ("abstract", lambda r: (r.abstract[:300] + "...") if len(r.abstract) > 300 else r.abstract),
        ):
            table.add_row(label, getter(a), getter(b))
        console.print(table)
        console.print(Text(pair.reason, style="dim"))
        before = earlier.get(pair_key(pair.id_1, pair.id_2))
        if before is not None:
            who_when = f"{before.reviewer or 'someone'} on {before.timestamp or 'an unknown day'}"
            console.print(Text(f"decided before: {before.decision} by {who_when}"))
        console.print(
            "[bold]s[/bold] same   [bold]d[/bold] different   [bold]k[/bold] skip   [bold]q[/bold] quit"
        )
        while True:
            key = click.getchar().lower()
            if key in ("s", "d", "k", "q"):
                break
        if key == "q":
            break
        if key == "k":
            console.print("skipped")
            continue
        append_decision(path, pair.id_1, pair.id_2, "same" if key == "s" else "different", who)
        decided += 1
        console.print(f"saved: {'same' if key == 's' else 'different'}")
    console.print(f"{decided} decisions saved in {path}")
    return decided


def _stage_option(function: Any) -> Any:
    return click.option(
        "--stage",
        type=click.Choice(["title-abstract", "full-text"]),
        default="title-abstract",
        show_default=True,
        help="The screening stage.",
    )(function)


@cli.command()
@click.argument("record_id", required=False)
@click.argument(
    "decision",
    required=False,
    type=click.Choice(["include", "exclude", "maybe", "not-retrieved", "undecided"]),
)
@click.option("--reviewer", required=True, help="Whose decision this is (a name in review.toml).")
@_stage_option
@click.option("--reason", default="", help="Exclusion reason (full text: one of review.toml's reasons).")
@click.option("--note", default="", help="A note kept with the decision.")
@click.option(
    "--import",
    "import_file",
    type=click.Path(path_type=Path),
    help="Import decisions made elsewhere: a CSV with record_id and decision columns.",
)
@click.option(
    "--skip-unknown",
    is_flag=True,
    help="With --import: import the rows whose id is in the review, skip the others (default: refuse).",
)
@review_option
def label(
    record_id: str | None,
    decision: str | None,
    reviewer: str,
    stage: str,
    reason: str,
    note: str,
    import_file: Path | None,
    skip_unknown: bool,
    review_dir: Path | None,
) -> None:
    """Record a screening decision without the interactive screen (for scripts).

    --import reads the whole file first: an unknown id, an empty id, a short row or an
    unknown decision word and nothing is written (--skip-unknown imports the matched rows).

    \b
    Examples:
      screener label --reviewer alice pmid:16511671 include
      screener label --reviewer alice --stage full-text pmid:16511671 exclude --reason "Wrong population"
      screener label --reviewer alice --import rayyan-decisions.csv
    """
    from .screening.labels import import_decisions, record_decision

    review = _find_review(review_dir)
    if import_file is not None:
        if record_id or decision:
            raise ScreenerError("give either RECORD_ID DECISION or --import FILE, not both")
        report = import_decisions(review, reviewer, stage, import_file, skip_unknown=skip_unknown)
        skipped = f"; {len(report.unknown_ids)} not in the review, skipped" if report.unknown_ids else ""
        click.echo(
            f"{report.matched} of {report.rows} ids matched{skipped}; {report.written} decisions "
            f"imported for {reviewer} ({stage})"
        )
        return
    if not record_id or not decision:
        raise ScreenerError("give RECORD_ID and DECISION (include, exclude, maybe...), or --import FILE")
    entry = record_decision(review, reviewer, stage, record_id, decision, reason, note)
    click.echo(
        f"{reviewer} ({stage}): {entry.record_id} {entry.decision}"
        + (f" ({entry.reason})" if entry.reason else "")
    )


@cli.command()
@_stage_option
@review_option
@json_option
def conflicts(stage: str, review_dir: Path | None, as_json: bool) -> None:
    """Records the screeners disagree on, and records only some have screened.

    \b
    Example:
      screener conflicts --stage title-abstract --json
    """
    from .screening import load_stage

    review = _find_review(review_dir)
    view = load_stage(review, stage)
    titles = {r.id: r.title for r in view.records}
    rows = [
        {
            "record_id": c.record_id,
            "kind": c.kind,
            "title": titles.get(c.record_id, ""),
            "decisions": {
                n: {"decision": d.decision, "reason": d.reason, "note": d.note}
                for n, d in c.decisions.items()
            },
        }
        for c in view.conflicts
    ]
    if as_json:
        _print_json(rows)
        return
    _warn_about_decision_files(view)
    if not rows:
        click.echo(f"No conflicts at {stage}.")
        return
    table = Table(title=f"Conflicts at {stage}", title_justify="left")
    for column in ("record", "kind", "decisions", "title"):
        table.add_column(column)
    for r in rows:
        decided = ", ".join(
            f"{n}: {d['decision']}" + (f" ({d['reason']})" if d["reason"] else "")
            for n, d in r["decisions"].items()
        )
        table.add_row(r["record_id"], r["kind"], decided, r["title"] or "(no title)")
    console.print(table)


@cli.command("agreement")
@click.option(
    "--stage",
    type=click.Choice(["title-abstract", "full-text", "all"]),
    default="all",
    show_default=True,
    help="The screening stage, or all.",
)
@review_option
@json_option
def agreement_cmd(stage: str, review_dir: Path | None, as_json: bool) -> None:
    """Agreement between screeners: Cohen's kappa with 95% CI, percent agreement, PABAK, 2x2 table.

    Include and maybe count as include. Computed for every pair of screeners on the records both
    decided; with three screeners or more, also Fleiss' kappa over the pool ('status --json'
    has it per stage).

    \b
    Example:
      screener agreement --stage title-abstract --json
    """
    from .screening import agreement, load_stage, pool_kappa, review_studies

    review = _find_review(review_dir)
    studies, member_of = review_studies(review)
    stages = ["title-abstract", "full-text"] if stage == "all" else [stage]
    views = [load_stage(review, s, studies, member_of) for s in stages]
    results = [a for view in views for a in agreement(view)]
    if as_json:
        _print_json([a.to_dict() for a in results])
        return
    if not results:
        click.echo("Agreement needs two screeners in review.toml.")
        return
    table = Table(title="Agreement between screeners", title_justify="left")
    for column in ("stage", "pair", "n", "agreement", "kappa (95% CI)", "PABAK", "2x2 (II, IE, EI, EE)"):
        table.add_column(column)

    def number(value: float, form: str = ".3f") -> str:
        return format(value, form) if math.isfinite(value) else "n/a"  # no overlap, one category

    for a in results:
        cells = list(a.table.values())
        kappa = number(a.kappa)
        if math.isfinite(a.kappa_ci_low):
            kappa += f" ({number(a.kappa_ci_low)} to {number(a.kappa_ci_high)})"
        table.add_row(
            a.stage,
            f"{a.reviewer_1} / {a.reviewer_2}",
            str(a.n),
            number(a.percent_agreement, ".1%"),
            kappa,
            number(a.pabak),
            ", ".join(str(c) for c in cells),
        )
    console.print(table)
    for view in views:
        if len(view.screeners) > 2:
            kappa, n = pool_kappa(view)
            click.echo(
                f"{view.stage}: Fleiss' kappa over the {len(view.screeners)} screeners, {n} records "
                f"with two votes or more: {number(kappa)}"
            )


@cli.command()
@click.option("--reviewer", required=True, help="Who is screening (a screener in review.toml).")
@_stage_option
@click.option(
    "--order",
    type=click.Choice(["ranked", "file", "random"]),
    default="ranked",
    show_default=True,
    help="ranked: most likely relevant first, learnt from your own decisions after each one (file "
    "order until you have included and excluded at least one).",
)
@review_option
def screen(reviewer: str, stage: str, order: str, review_dir: Path | None) -> None:
    """Screen records one at a time in the terminal, blind to the other screeners.

    Keys: i include, e exclude (full text: then a reason by number), r report not retrieved
    (full text), m maybe, u undo, n note, s skip for now, ? help, q quit. Each decision is on
    disk before the next record appears; quitting and starting again resumes where you were.

    \b
    Example:
      screener screen --reviewer alice --stage title-abstract
    """
    from .screening import load_stage
    from .screening.decisions import DecisionLog, decision_path, session_lock
    from .screening.screen import (
        KeyReader,
        ScreenSession,
        highlighter,
        order_records,
        require_terminal,
        run_terminal,
    )

    review = _find_review(review_dir)
    config = review.config
    roles = {r.name: r.role for r in config.reviewers}
    if roles.get(reviewer) != "screener":
        raise ScreenerError(
            f"{reviewer!r} is not a screener of this review",
            path=review.config_path,
            hint="screeners: " + ", ".join(n for n, r in roles.items() if r == "screener"),
        )
    require_terminal("screener screen", "in scripts, record decisions with 'screener label'")
    with session_lock(review.cache_dir / "locks", stage, reviewer):
        with err_console.status("Preparing the records"):
            view = load_stage(review, stage)
        log = DecisionLog(decision_path(review.labels_dir, stage, reviewer))
        session = ScreenSession(
            stage,
            order_records(view.records, "random" if order == "random" else "file", f"{reviewer}/{stage}"),
            log,
            config.exclusion_reasons,
            done=dict(view.decisions.get(reviewer, {})),
            order=order,
        )
        if order == "ranked" and len(session.records) > 1:
            from .ranking import RankerConfig, record_text
            from .screening.screen import BackgroundRanking

            ranker = _ranker(
                [record_text(r) for r in session.records],
                RankerConfig.from_table(config.ranking),
                review.cache_dir / "features",
            )
            with err_console.status("Ranking the records"):
                background = BackgroundRanking(ranker)
                background.request(session)
                background.wait()  # the first ranking before the first record
                background.apply(session)
            session.rerank = background
        highlight = highlighter(config.highlight_include, config.highlight_exclude)
        with KeyReader() as keys:
            run_terminal(session, console, highlight, keys.getchar, keys.prompt)
    console.print(f"{session.screened} of {len(session.records)} screened; decisions in {log.path}")


@cli.command()
@click.option("--reviewer", required=True, help="The resolver (role resolver in review.toml).")
@_stage_option
@review_option
def resolve(reviewer: str, stage: str, review_dir: Path | None) -> None:
    """Settle the screeners' conflicts: each one shown with both decisions and notes.

    The same keys as `screener screen`; decisions go to the resolver's own file and become the
    final decision of each record.

    \b
    Example:
      screener resolve --reviewer carol --stage title-abstract
    """
    from .screening import load_stage
    from .screening.decisions import DecisionLog, decision_path, session_lock
    from .screening.screen import ScreenSession, highlighter, require_terminal, run_terminal

    review = _find_review(review_dir)
    config = review.config
    if {r.name: r.role for r in config.reviewers}.get(reviewer) != "resolver":
        resolvers = ", ".join(r.name for r in config.reviewers if r.role == "resolver") or "none"
        raise ScreenerError(
            f"{reviewer!r} is not a resolver of this review",
            path=review.config_path,
            hint=f"resolvers: {resolvers}; a resolver has role = \"resolver\" in review.toml",
        )
    require_terminal("screener resolve", "in scripts, record the resolver's decisions with 'screener label'")
    with session_lock(review.cache_dir / "locks", stage, reviewer):
        view = load_stage(review, stage)
        to_settle = [c for c in view.conflicts if c.kind != "single"]
        by_id = {r.id: r for r in view.records}
        context = {
            c.record_id: "  ".join(
                f"{name}: {d.decision}"
                + (f" ({d.reason})" if d.reason else "")
                + (f" - {d.note}" if d.note else "")
                for name, d in c.decisions.items()
            )
            for c in to_settle
        }
        session = ScreenSession(
            stage,
            [by_id[c.record_id] for c in to_settle],
            DecisionLog(decision_path(review.labels_dir, stage, reviewer)),
            config.exclusion_reasons,
            context=context,
            allow_maybe=False,
        )
        if not to_settle:
            console.print(f"No conflicts to resolve at {stage}.")
            return
        run_terminal(
            session,
            console,
            highlighter(config.highlight_include, config.highlight_exclude),
            click.getchar,
            lambda text: click.prompt(text, default=""),
        )
    console.print(f"{session.screened} of {len(to_settle)} conflicts resolved")


@cli.command()
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds, one run each.")
@click.option(
    "--level",
    type=click.Choice(["ta", "final"]),
    default="final",
    show_default=True,
    help="Title/abstract labels or final inclusion labels.",
)
@click.option("--n-stop", type=int, default=None, help="Stop after this many records (default: all found).")
@click.option(
    "--orders-out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each run's screening order to DIR/<dataset>_seed<s>.csv.",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False, path_type=Path), help="Draw recall curves (PNG/SVG/PDF)."
)
@click.option(
    "--features",
    # ranking.FEATURES' names, spelled out so that --help does not import scikit-learn.
    type=click.Choice(["tfidf-one-bag", "tfidf-two-views", "tfidf", "tfidf-words-chars"]),
    default="tfidf-one-bag",
    show_default=True,
)
@click.option(
    "--index-terms",
    type=click.Choice(["words", "ignore", "separate"]),
    default="words",
    show_default=True,
    help="Keywords and MeSH: read as more words, or left out (separate: a view of whole terms, "
    "tfidf-two-views only).",
)
@click.option("--classifier", type=click.Choice(["svm", "logistic", "nb"]), default="svm", show_default=True)
@click.option(
    "--interleave/--alone",
    default=True,
    show_default=True,
    help="Take turns with ASReview's model of title and abstract (the default), or rank alone.",
)
@click.option(
    "--query", type=click.Choice(["max", "uncertainty", "random"]), default="max", show_default=True
)
@json_option
def simulate(
    dataset: Path,
    seeds: str,
    level: str,
    n_stop: int | None,
    orders_out: Path | None,
    plot: Path | None,
    features: str,
    index_terms: str,
    classifier: str,
    interleave: bool,
    query: str,
    as_json: bool,
) -> None:
    """Replay a labelled dataset as prioritised screening and report how much work it saves.

    Priors for seed s: r = numpy.random.RandomState(s); one relevant row r.choice(relevant), then
    one irrelevant row r.choice(irrelevant). Then one record at a time, retraining after each,
    until every relevant record is found. Metrics exclude the priors: WSS@95, WSS@100, RRF@10, ATD.

    \b
    Example:
      screener simulate wilson.csv --seeds 0,1,2 --level final --plot recall.png
    """
    import tempfile

    import numpy as np

    from .outputs import FIGURE_SUFFIXES, check_output_file, prepare_output_folder
    from .ranking import RankerConfig
    from .ranking.datasets import load_labelled, texts_of
    from .ranking.simulate import parse_seeds
    from .ranking.simulate import simulate as run_simulation

    seed_list = parse_seeds(seeds)
    if plot is not None:
        check_output_file(plot, FIGURE_SUFFIXES)
    if orders_out is not None:
        prepare_output_folder(orders_out)
    records, labels = load_labelled(dataset, level)
    texts = texts_of(records)
    try:
        config = RankerConfig.from_table(
            {"features": features, "classifier": classifier, "query": query, "interleave": interleave}
            | ({"index_terms": index_terms} if index_terms != "words" else {})
        )
    except ValueError as exc:
        raise ScreenerError(str(exc), hint="see screener simulate --help") from None
    runs = []
    # The feature matrix is the same for every seed: built once, then read from here.
    with tempfile.TemporaryDirectory(prefix="screener-simulate-") as features_cache:
        for seed in seed_list:
            with _progress(f"Seed {seed}: relevant records found") as (progress, task):
                runs.append(
                    run_simulation(
                        texts,
                        labels,
                        seed,
                        config,
                        n_stop,
                        cache_dir=Path(features_cache),
                        progress=lambda found, total: progress.update(task, completed=found, total=total),
                    )
                )
    rows = []
    for run in runs:
        metrics = run.metrics()
        step = float(np.median(run.step_seconds)) if run.step_seconds else float("nan")
        stop = run.stopping() if n_stop is None else None
        rows.append(
            {
                "seed": run.seed,
                **{k: round(v, 4) for k, v in metrics.items()},
                "median_step_ms": round(step * 1000, 2),
                "records": len(labels),
                "relevant": int(labels.sum()),
                "stop": None
                if stop is None
                else {
                    "screened": stop.stopped_at,
                    "ranked": stop.ranked,
                    "random_sample": stop.sample,
                    "recall": round(stop.recall, 4),
                    "work_saved": round(stop.work_saved, 4),
                    "p_value": round(stop.p_value, 4),
                    "target": stop.target,
                },
            }
        )
        if orders_out:
            _write_csv(
                orders_out / f"{dataset.stem}_seed{run.seed}.csv",
                ["row", "label", "prior"],
                [{"row": r, "label": int(labels[r]), "prior": int(r in run.prior_rows)} for r in run.order],
            )
    mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("wss@95", "wss@100", "rrf@10", "atd")}
    if plot:
        from .ranking.plots import recall_plot

        recall_plot(runs, plot, title=f"{dataset.stem} ({level})")
    if as_json:
        _print_json({"dataset": str(dataset), "level": level, "runs": rows, "mean": mean})
        return
    table = Table(
        title=f"Simulation: {dataset.name} ({level}, {len(labels)} records, {int(labels.sum())} relevant)",
        title_justify="left",
    )
    for column in (
        "seed",
        "WSS@95",
        "WSS@100",
        "RRF@10",
        "ATD",
        "step ms",
        "stop at",
        "recall there",
        "work saved",
    ):
        table.add_column(column, justify="right")
    for r in rows:
        stop = r["stop"] or {}
        table.add_row(
            str(r["seed"]),
            f"{r['wss@95']:.1%}",
            f"{r['wss@100']:.1%}",
            f"{r['rrf@10']:.1%}",
            f"{r['atd']:.1%}",
            f"{r['median_step_ms']:.1f}",
            str(stop.get("screened", "")),
            f"{stop['recall']:.1%}" if stop else "",
            f"{stop['work_saved']:.1%}" if stop else "",
        )
    table.add_section()
    table.add_row(
        "mean",
        f"{mean['wss@95']:.1%}",
        f"{mean['wss@100']:.1%}",
        f"{mean['rrf@10']:.1%}",
        f"{mean['atd']:.1%}",
        "",
        "",
        "",
        "",
    )
    console.print(table)
    if plot:
        console.print(f"Recall curves in {plot}")


@cli.command()
@click.option("--reviewer", required=True, help="Rank from this reviewer's decisions only.")
@_stage_option
@click.option(
    "--top", type=click.IntRange(min=1), default=20, show_default=True, help="How many records to list."
)
@review_option
@json_option
def rank(reviewer: str, stage: str, top: int, review_dir: Path | None, as_json: bool) -> None:
    """List the records a reviewer has not screened, most likely relevant first.

    The models (TF-IDF, linear SVM, most-likely-relevant first; by default two that take turns,
    one reading keywords and MeSH, one not) learn from this reviewer's own decisions only; until
    they include and exclude at least one record, the order is the file's.

    \b
    Example:
      screener rank --reviewer alice --top 10 --json
    """
    import numpy as np

    from .ranking import RankerConfig, record_text
    from .screening import load_stage

    review = _find_review(review_dir)
    view = load_stage(review, stage)
    records = view.records
    mine = view.decisions.get(reviewer, {})
    row_of = {r.id: k for k, r in enumerate(records)}
    labelled = np.array([row_of[i] for i in mine], dtype=np.int64)
    y = np.array([int(d.includes) for d in mine.values()], dtype=int)
    unlabelled = np.array([k for k, r in enumerate(records) if r.id not in mine], dtype=np.int64)
    ranking = RankerConfig.from_table(review.config.ranking)
    ranker = (
        _ranker([record_text(r) for r in records], ranking, review.cache_dir / "features")
        if len(records) > 1 and len(unlabelled)
        else None
    )
    if ranker is not None and len(labelled):
        ranker.fit(labelled, y)
    order = (
        unlabelled
        if ranker is None or not ranker.fitted
        else ranker.query.order(ranker.scores, unlabelled, ranker.rng)
    )
    rows = [
        {
            "rank": n + 1,
            "record_id": records[k].id,
            "score": round(float(ranker.scores[k]), 4) if ranker and ranker.fitted else None,
            "title": records[k].title,
        }
        for n, k in enumerate(order[:top])
    ]
    if as_json:
        _print_json(
            {
                "reviewer": reviewer,
                "stage": stage,
                "trained_on": len(labelled),
                "model": bool(ranker and ranker.fitted),
                "ranking": ranking.to_table(),
                "notice": ranker.notice if ranker else "",
                "records": rows,
            }
        )
        return
    if not rows:
        console.print(f"{reviewer} has screened every record at {stage}: nothing left to rank.")
        return
    if ranker and ranker.notice:
        err_console.print(f"notice: {ranker.notice}", highlight=False, markup=False)
    table = Table(
        title=f"Next for {reviewer} ({stage}); model trained on {len(labelled)} decisions"
        if ranker and ranker.fitted
        else f"Next for {reviewer} ({stage}); file order until the model can learn",
        title_justify="left",
    )
    for column in ("rank", "score", "record", "title"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["rank"]),
            "" if r["score"] is None else f"{r['score']:.2f}",
            r["record_id"],
            r["title"] or "(no title)",  # Table cells are plain text, never rich markup
        )
    console.print(table)


@cli.command("export")
@click.option(
    "--stage",
    type=click.Choice(["title-abstract", "full-text"]),
    default="full-text",
    show_default=True,
    help="Whose final decisions: full-text gives the review's included studies.",
)
@click.option(
    "--decision",
    type=click.Choice(["included", "excluded", "all"]),
    default="included",
    show_default=True,
    help="excluded includes reports not retrieved; all includes undecided records.",
)
@click.option("--format", "fmt", type=click.Choice(["ris", "csv", "bibtex"]), required=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (atomically) instead of to standard output ('-' is standard output).",
)
@review_option
def export_cmd(stage: str, decision: str, fmt: str, output: Path | None, review_dir: Path | None) -> None:
    """Export final decisions with reasons and notes, for a reference manager or a spreadsheet.

    One entry per study, with every source id it merged. CSV cells that start like a formula
    (=, +, -, @) get a leading quote, so a spreadsheet shows them as text.

    \b
    Examples:
      screener export --format ris -o included.ris
      screener export --stage full-text --decision excluded --format csv -o excluded.csv
      screener export --stage title-abstract --decision all --format bibtex
    """
    from .export import export
    from .outputs import check_output_file, write_output

    if output is not None and str(output) == "-":  # the usual spelling of standard output
        output = None

    if output is not None:
        check_output_file(output)  # before any work: a bad path costs nothing
    review = _find_review(review_dir)
    text, count = export(review, stage, decision, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)
    err_console.print(f"{count} {decision} studies at {stage} exported" + (f" to {output}" if output else ""))


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="csv: the PRISMA2020 R package's data template, filled in.",
)
@click.option("--explain", "box", default=None, help="List the record ids behind one box (or reason).")
@click.option(
    "--diagram",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the PRISMA 2020 flow diagram: .svg, .png or .pdf (A4).",
)
@review_option
def prisma(fmt: str, box: str | None, diagram: Path | None, review_dir: Path | None) -> None:
    """PRISMA 2020 flow counts, computed from the review's files (nothing typed by hand).

    JSON keys follow the PRISMA2020 R package's data template. Searches count by their `kind`
    (database, register, website, organisation, citations in searches/NAME.toml).

    \b
    Examples:
      screener prisma --format json
      screener prisma --explain duplicates
      screener prisma --format csv > PRISMA.csv   # for the PRISMA2020 R package
      screener prisma --diagram prisma.png
    """
    from .outputs import FIGURE_SUFFIXES, check_output_file
    from .prisma import explain, prisma_counts

    if diagram is not None:
        check_output_file(diagram, FIGURE_SUFFIXES)  # before any work: a bad path costs nothing
    review = _find_review(review_dir)
    with err_console.status("Counting"):
        counts = prisma_counts(review)
    if box:
        if box == "duplicates":  # each removed copy, its search and the record it joined
            rows = counts.removed_copies
            if fmt == "json":
                _print_json(rows)
                return
            for row in rows:
                kept = f"{row['merged_into']} ({row['merged_into_search']})"
                click.echo(f"{row['record_id']} ({row['search']}) -> {kept}")
            return
        ids = explain(counts, box)
        if fmt == "json":
            _print_json(ids)
            return
        for record_id in ids:
            click.echo(record_id)
        return
    data = counts.to_dict()
    if diagram is not None:
        from .prisma.diagram import draw

        draw(counts, diagram, title=review.config.title)
        err_console.print(f"PRISMA flow diagram written to {diagram}")
    if fmt == "json":
        _print_json(data)
        return
    if fmt == "csv":
        from .prisma.template import to_template_csv

        click.echo(to_template_csv(counts, review.config.raw.get("prisma", {})), nl=False)
        return
    table = Table(title="PRISMA 2020", title_justify="left")
    table.add_column("box")
    table.add_column("n", justify="right")
    from .prisma import BOXES

    for name in BOXES:
        table.add_row(name, str(data[name]))
    for database, n in data["database_results_by_database"].items():
        table.add_row(f"  {database}", str(n))
    for key, label in (("dbr_excluded", "excluded"), ("other_excluded", "excluded (other methods)")):
        for reason, n in sorted(data[key].items(), key=lambda item: -item[1]):
            table.add_row(f"  {label}: {reason}", str(n))
    console.print(table)
    included = f"{data['total_studies']} studies included"
    if counts.updated:
        included = f"{data['previous_studies']} previous + {data['new_studies']} new = {included}"
    # The diagram's own numbers: databases and registers, then other methods after a "+".
    other = counts.identified_by_other_methods
    identified = f"{counts.identified_by_databases}" + (f" + {other}" if other else "")
    screened = f"{data['records_screened']}" + (f" + {len(counts.other_studies)}" if other else "")
    assessed = f"{data['dbr_assessed']}" + (f" + {data['other_assessed']}" if other else "")
    console.print(
        f"{identified} records identified → {data['duplicates']} duplicates removed → "
        f"{screened} screened → {assessed} assessed in full text → {included}"
        + (" (databases and registers + other methods)" if other else "")
    )
    if counts.in_progress:
        console.print(Text(f"In progress, not final: {counts.in_progress_text()}", style="bold yellow"))


def _ranker(texts: list[str], config: Any, cache_dir: Path) -> Any:
    """A Ranker for screen and rank, with a progress bar while its features are built (the
    first time on a large review takes tens of seconds; the bar vanishes when it is done)."""
    from .ranking import Ranker

    with _progress("Reading the records for ranking", transient=True) as (progress, task):
        return Ranker(
            texts,
            config,
            cache_dir=cache_dir,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )


class _progress:
    """A rich progress bar on stderr, so --json output on stdout stays clean."""

    def __init__(self, description: str, transient: bool = False, hidden: bool = False) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=hidden,
            console=err_console,
            transient=transient,
        )
        self.description = description

    def __enter__(self) -> tuple[Progress, Any]:
        self.progress.start()
        return self.progress, self.progress.add_task(self.description, total=None)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback.

    A failure the code did not foresee is a bug: it is reported in one line with exit code 1
    (SCREENER_DEBUG=1 shows the traceback), so tests can tell it from an input error.
    """
    import os

    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe whose encoding lacks a character (PYTHONIOENCODING=ascii, a Latin-1
        # locale) shows a replacement, never fails the command on an arrow or an accented title.
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace" if stream is sys.stdout else "backslashreplace")
            except (ValueError, OSError):
                pass
    try:
        cli.main(args=argv, prog_name="screener", standalone_mode=False)
    except ScreenerError as exc:
        click.echo(f"error: {_one_line(str(exc))}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {_one_line(exc.format_message())}{where}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {_one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code if exc.exit_code != 1 else 2)
    except KeyboardInterrupt:
        click.echo("Interrupted; run the command again to resume.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:  # the disk, a folder that vanished, permissions: the user can act
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {_one_line(where + (exc.strerror or str(exc)))}", err=True)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("SCREENER_DEBUG"):
            raise
        message = _one_line(f"{type(exc).__name__}: {exc}")[:300]
        click.echo(
            f"error: internal error, a bug in screener ({message}); please report it "
            "(SCREENER_DEBUG=1 shows the details)",
            err=True,
        )
        sys.exit(1)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


if __name__ == "__main__":
    main()
