"""Starting a review and taking stock: init, import, status, check."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text

from ..errors import ScreenerError
from ..importers import FORMATS, empty_warning, read_records
from ..review import Review, Reviewer, init_review
from ..schema import KINDS as SEARCH_KINDS
from ..textio import read_user_text
from ..words import plural
from . import cli
from .common import (
    Table,
    console,
    echo,
    err_console,
    find_review,
    json_option,
    print_json,
    review_option,
)


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
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--search", "search_name", default=None, help="Name of the search these files belong to.")
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
@click.option(
    "--remove",
    "remove",
    default=None,
    metavar="STORED_NAME",
    help="Take a wrongly imported file out of the review (its stored name, e.g. embase-1c0ffee5.ris); "
    "its provenance stays in the search's toml under [[removed]].",
)
@click.option("--reason", default="", help="With --remove: why the file was removed, kept with it.")
@review_option
@json_option
def import_(
    files: tuple[Path, ...],
    search_name: str | None,
    database: str,
    date_searched: str,
    query: str,
    query_file: Path | None,
    kind: str | None,
    fmt: str | None,
    allow_overlap: bool,
    remove: str | None,
    reason: str,
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
      screener import --remove embase-1c0ffee5.ris --reason "the same export twice"
    """
    if remove is not None:
        if files:
            raise click.UsageError("--remove takes no files to import: one command does one of the two")
        _remove_file(find_review(review_dir), remove, reason, search_name, as_json)
        return
    if not files or not search_name:
        raise click.UsageError("give the files to import and --search NAME (or --remove STORED_NAME)")
    review = find_review(review_dir)
    if query_file is not None:
        query = read_user_text(query_file, "query file").strip()
    parsed = []  # every file is read in full before anything is written
    for number, path in enumerate(files, start=1):
        with err_console.status(f"Reading {path} ({number} of {len(files)})"):
            parsed.append(read_records(path, fmt, search_name))
    for parsed_file in parsed:
        for warning in [*parsed_file.warnings, empty_warning(parsed_file)]:
            if warning:
                err_console.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
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
                "empty": len(parsed_file.empty),
                "added": result.added,
                "stored_as": f"searches/{result.stored_as}",
            }
        )
    if any(r["added"] for r in results):
        from ..dedup.split_ids import record_splits

        try:
            with err_console.status("Deduplicating"):
                record_splits(review)  # labels/ids.csv: an id split now stays split
        except ScreenerError as exc:  # the files are in; what blocks dedup, every command will say
            err_console.print(
                f"warning: imported, but not deduplicated: {exc}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    from ..screening.decisions import screening_began

    # Records new to the review in a file imported once screening began are judged apart by the
    # stopping rule until screened: said here, so nobody wonders why the statement moved.
    late = any(r["added"] for r in results) and screening_began(review.labels_dir)
    if as_json:
        print_json([{**r, "after_screening_began": late and r["added"]} for r in results])
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
    if late:
        click.echo(
            "Screening has begun: the stopping rule judges the records new to the review in "
            "this import as a group of their own ('records imported after screening began') "
            "until they are screened."
        )


def _remove_file(review: Review, name: str, reason: str, search: str | None, as_json: bool) -> None:
    import unicodedata

    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in reason):
        raise click.BadParameter(
            "holds a control character or bytes that are not text in this locale; type it as plain text",
            param_hint="--reason",
        )
    before = review.rounds_held()
    owner, file = review.remove_file(name, reason=reason, search=search)
    after = Review(review.root).rounds_held()
    gone, now = sorted(before - after), max(after)
    closed = ""
    if gone:  # an update's last file gone, its round is too
        closed = f"round {gone[0]} had no other file, so it is gone" + (
            f" and the review is back to round {now}; a file imported now joins round {now}"
            if gone[0] > now
            else f"; rounds {', '.join(str(n) for n in sorted(after))} remain"
        )
        closed += f". To bring the file as an update again: screener update --import {owner.name}=FILE"
    if as_json:
        print_json(
            {"removed": f"searches/{file.path}", "search": owner.name, "records": file.records}
            | ({"round_closed": gone[0], "round": now} if gone else {})
        )
        return
    click.echo(
        f"searches/{file.path} removed from search {owner.name!r} ({file.records} records); its provenance "
        f"stays in searches/{owner.name}.toml under [[removed]]. Decisions on its records stay in labels/: "
        "'screener check' lists those that no longer point at a record"
    )
    if closed:
        err_console.print(f"warning: {closed}", highlight=False, markup=False, soft_wrap=True)


@cli.command()
@review_option
@json_option
def status(review_dir: Path | None, as_json: bool) -> None:
    """Show the review's searches, record counts, progress and the stopping rule.

    At title-abstract, "stopping rule, NAME" is what the rule says of that screener's decisions,
    as their screen says it: whether they can stop with 95% recall, or how many more records it
    expects them to need. Each update round, and the records that came after they began
    ("records imported after screening began"), are judged as groups of their own; the line
    speaks of the first group the rule does not say stop for, and "then ..." names the groups
    after it ("... stop too" when it says stop for those as well). With an allocation it speaks
    of what their screen holds: their share still waiting for votes, and what they decided. It
    assumes ranked order, the screen's default. A screener with no decision yet has no line.

    \b
    Example:
      screener status --json
    """
    import textwrap

    review = find_review(review_dir)
    info = review.status()
    if info["records_identified"] and review.config.reviewers:
        from ..screening import load_all, progress_all

        with err_console.status("Reading decisions"):
            views, member_of = load_all(review)  # one deduplication for every count below
            info["stages"] = progress_all(review, views)
            from ..fulltext import summary

            full_text = views.get("full-text")
            info["full_texts"] = summary(review, (full_text.records, member_of) if full_text else None)
    if as_json:
        print_json(info)
        return
    console.print(Text(info["title"], style="bold"), Text(f" ({info['review']})"))
    table = Table(title="Searches", title_justify="left")
    for column in ("search", "database", "source", "date searched", "files", "records"):
        # A date (and its round) on one line: names wrap first.
        table.add_column(
            column,
            justify="right" if column in ("files", "records") else "left",
            no_wrap=column == "date searched",
        )
    for s in info["searches"]:
        # After an update, each round's date searched, one line each.
        dates = s["date_searched"]
        if len(s["rounds"]) > 1 or s["rounds"][0]["round"] > 1:
            dates = "\n".join(f"{r['date_searched'] or 'no date'} (round {r['round']})" for r in s["rounds"])
        table.add_row(s["name"], s["database"], s["source"], dates, str(s["files"]), str(s["records"]))
    table.add_section()
    table.add_row("total", "", "", "", "", str(info["records_identified"]))
    console.print(table)
    if not info["searches"]:
        console.print("No searches yet: 'screener import FILE --search NAME' or 'screener search pubmed'.")
    people = ", ".join(f"{r['name']} ({r['role']})" for r in info["reviewers"])
    console.print(f"Reviewers: {people or 'none declared in review.toml'}")
    for stage in info.get("stages", []):
        title = f"Screening: {stage['stage']} ({plural(stage['records'], 'record')})"
        table = Table(title=title, title_justify="left")
        need = "still need their vote" + (" (their share)" if stage["allocated"] else "")
        for column in ("reviewer", "screened", "included", need):
            table.add_column(column, justify="left" if column == "reviewer" else "right")
        for name, p in stage["reviewers"].items():
            # Without this, 'screened' plus 'still need' falls short of the share and looks like a loss.
            final = f" ({p['final_in_share']} already final)" if p.get("final_in_share") else ""
            table.add_row(
                name,
                f"{p['screened']} / {p['total']}{final}",
                str(p["included"]),
                str(stage["waiting_for"][name]),
            )
        console.print(table)
        console.print(
            f"  final: {stage['included']} included, {stage['excluded']} excluded"
            + (f", {stage['not_retrieved']} not retrieved" if stage["not_retrieved"] else "")
            + f"; {plural(stage['conflicts_to_resolve'], 'conflict')} to resolve"
            + f"; {stage['screened_by_some_only']} screened by one screener only"
        )
        for number, count in stage["rounds"].items():  # after an update: each round's own progress
            done = [
                f"{name} {p['rounds'][number]['screened']} / {p['rounds'][number]['total']}"
                for name, p in stage["reviewers"].items()
                if number in p.get("rounds", {})
            ]
            said = f"  round {number}: {count} records" + (f"; {', '.join(done)}" if done else "")
            console.print(said, markup=False, highlight=False)
        for name, said in stage.get("stopping", {}).items():  # as the screen and the report say it
            # Wrapped here, so the lines after the first stay under it (rich wraps at column 0).
            line = f"stopping rule, {name}: {said['statement']}"
            wrapped = textwrap.fill(
                line,
                max(20, console.width),
                initial_indent="  ",
                subsequent_indent="  ",
                break_long_words=False,  # a name is never cut
                break_on_hyphens=False,
            )
            console.print(wrapped, markup=False, highlight=False, soft_wrap=True)
        if stage["verify_sample"] is not None:
            from ..screening import describe_sample

            console.print(f"  {describe_sample(stage['verify_sample'])}", highlight=False)
        if stage["not_allocated"]:
            console.print(
                f"  {stage['not_allocated']} records waiting for votes are not allocated yet "
                "('screener allocate')"
            )
        if stage["over_allocated"]:
            console.print(
                f"  {stage['over_allocated']} records are allocated to more screeners than the votes they "
                "need (two clones ran 'screener allocate'?); 'screener check' says what to do"
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
    texts = info.get("full_texts")
    if texts and texts["records"]:
        sources = ", ".join(f"{n} by {source}" for source, n in sorted(texts["sources"].items()))
        console.print(
            Text(
                f"Full texts: {texts['with_file']} of {texts['records']} attached"
                + (f" ({sources})" if sources else "")
                + f", {texts['without_file']} without a file ('screener fulltext status')"
                + (f"; {texts['not_in_this_clone']} not in this clone" if texts["not_in_this_clone"] else "")
            )
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
    from ..check import check_review

    # Not find_review: a review.toml that does not validate is a finding here, not an error.
    review = Review.find(review_dir or (click.get_current_context().find_root().obj or {}).get("review_dir"))
    with err_console.status("Checking the review"):
        report = check_review(review)
    if as_json:
        print_json(report.to_dict())
    else:
        for line in report.problems:
            echo(f"problem: {line}")
        for line in report.warnings:
            echo(f"warning: {line}")
        for line in report.open_work:
            echo(f"open: {line}")
        verdict = "OK" if report.ok else f"{len(report.problems)} problems"
        click.echo(
            f"{verdict}: {report.files_verified} raw files verified, {report.decisions_read} decisions read, "
            f"{len(report.open_work)} open items"
        )
    if not report.ok:
        sys.exit(1)
