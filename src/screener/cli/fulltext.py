"""Full texts: attach a folder of PDFs, the state of each report, a report's text, the missing."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from ..errors import ScreenerError
from ..words import plural
from . import cli
from .common import Table, console, err_console, find_review, json_option, print_json, progress_bar


@cli.group()
def fulltext() -> None:
    """Full texts of the records at the full-text stage (those included at title-abstract).

    PDFs live in fulltext/pdf/, which git never commits (reports are copyrighted); the tracked
    fulltext/manifest.csv says each record's state, the PDF's sha256, where it came from and
    who attached it, so a clone without the PDFs still knows (docs/review-format.md).

    \b
    Examples:
      screener fulltext get --dry-run
      screener fulltext attach ~/Downloads/review-pdfs
      screener fulltext attach ~/Downloads/review-pdfs --review   # decide the uncertain ones
      screener fulltext status
      screener fulltext list --missing --format ris -o ill-requests.ris
      screener fulltext show pmid:12345678
    """


def _who(reviewer: str | None) -> str:
    import getpass

    from ..screening.decisions import check_reviewer_name

    # Who attached a file is provenance: the --reviewer given, else the login name, never a
    # placeholder that reads like a person.
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no $USER/$LOGNAME and no passwd entry (a bare container)
        login = ""
    return check_reviewer_name(reviewer or login or "unknown")


@fulltext.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would be attached; write nothing.")
@click.option("--review", "interactive", is_flag=True, help="Then decide the uncertain PDFs in the terminal.")
@click.option(
    "--ocr",
    "use_ocr",
    is_flag=True,
    help="OCR PDFs without a text layer (scans) with ocrmypdf, when installed.",
)
@click.option("--reviewer", default=None, help="Your name, recorded in the manifest (default: login name).")
@json_option
def attach(
    folder: Path, dry_run: bool, interactive: bool, use_ocr: bool, reviewer: str | None, as_json: bool
) -> None:
    """Match the PDFs in FOLDER to the records at the full-text stage and attach them.

    A DOI or PMID in a PDF's text or metadata, then the record's whole title on lines of its
    own with its first author, decide; a PDF is attached only when one record is certain. Near
    misses (Part I / Part II, a title inside a longer one), PDFs naming another record's DOI and
    two PDFs for one record are uncertain: decide them with --review. Unreadable, encrypted and
    image-only PDFs (scans) and PDFs matching nothing are reported, never attached. Files are
    copied into fulltext/pdf/ under a name made from the record id.

    \b
    Examples:
      screener fulltext attach ~/Downloads/pdfs --dry-run
      screener fulltext attach ~/Downloads/pdfs --json
      screener fulltext attach ~/Downloads/pdfs --review
    """
    from ..fulltext import attach as ft

    if interactive and (dry_run or as_json):
        raise ScreenerError("--review asks in the terminal: not with --dry-run or --json")
    if interactive:
        from ..screening.screen import require_terminal

        require_terminal(
            "screener fulltext attach --review", "run it in a terminal; without --review none is needed"
        )
    review = find_review(None)
    who = _who(reviewer)
    with progress_bar("Reading the PDFs", transient=True, hidden=as_json) as (progress, task):
        plan = ft.plan(
            review,
            folder,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            use_ocr=use_ocr,
        )
    attached = 0 if dry_run else ft.apply(review, plan, who)
    if interactive:
        attached += ft.decide(review, plan, lambda outcome: _ask(outcome), who)
    if as_json:
        print_json(
            {
                "folder": str(folder),
                "dry_run": dry_run,
                "counts": plan.counts(),
                "pdfs": [o.to_dict() for o in plan.outcomes],
            }
        )
        return
    _print_plan(plan, dry_run)
    counts = plan.counts()
    verb = "would be attached" if dry_run else "attached"
    summary = (
        f"{len(plan.outcomes)} PDFs: {counts['attached']} {verb}, {counts['uncertain']} uncertain, "
        f"{counts['unmatched']} unmatched, {counts['unreadable']} unreadable, {counts['no_text']} no text"
    )
    extra = [f"{counts[k]} {k.replace('_', ' ')}" for k in ("already_attached", "duplicate") if counts[k]]
    console.print(Text(summary + (", " + ", ".join(extra) if extra else "")))
    if counts["uncertain"] and not interactive:
        console.print(Text(f"decide the uncertain ones: screener fulltext attach {folder} --review"))


def _print_plan(plan, dry_run: bool) -> None:  # noqa: ANN001
    shown = [o for o in plan.outcomes if o.outcome not in ("already_attached",)]
    if not shown:
        return
    table = Table(title="Would attach" if dry_run else "Full texts", title_justify="left")
    for column in ("file", "outcome", "record", "why"):
        table.add_column(column)
    for o in shown:
        table.add_row(o.file, o.outcome.replace("_", " "), o.record_id, o.reason)
    console.print(table)


def _ask(outcome) -> str | None:  # noqa: ANN001 - a fulltext.attach.PdfOutcome
    table = Table(title=f"{outcome.file}: {outcome.reason}", title_justify="left", show_lines=True)
    for column in ("key", "record", "title", "score", "found"):
        table.add_column(column)
    options = outcome.candidates[:9]
    for number, c in enumerate(options, start=1):
        found = ", ".join(
            w
            for w, on in (
                ("title", c.exact),
                ("author", c.author),
                ("year", c.year),
                (c.by_id, bool(c.by_id)),
            )
            if on
        )
        table.add_row(str(number), c.record_id, c.title, f"{c.score:.0f}", found)
    if outcome.pdf_title:
        # What the PDF itself says, to hold the candidates' titles against.
        console.print(Text("the PDF's title: " + " / ".join(outcome.pdf_title), style="bold"))
    console.print(table)
    console.print(
        f"[bold]1-{len(options)}[/bold] attach to that record   [bold]k[/bold] skip   [bold]q[/bold] quit"
    )
    while True:
        key = click.getchar().lower()
        if key == "q":
            return None
        if key == "k":
            console.print("skipped")
            return ""
        if key.isdigit() and 1 <= int(key) <= len(options):
            console.print(Text(f"attached to {options[int(key) - 1].record_id}"))
            return options[int(key) - 1].record_id


@fulltext.command()
@click.option("--ids", "ids", multiple=True, help="Only this record (repeatable).")
@click.option("--dry-run", is_flag=True, help="Count the look-ups per source; ask nothing.")
@click.option("--reviewer", default=None, help="Your name, recorded in the manifest (default: $USER).")
@json_option
def get(ids: tuple[str, ...], dry_run: bool, reviewer: str | None, as_json: bool) -> None:
    """Find open-access PDFs of the reports still missing and attach them.

    For each record at the full-text stage in state needs_manual_retrieval, asks the sources
    in review.toml's [full_text] sources order (default: europepmc, unpaywall, openalex); the
    first open-access PDF that downloads wins. Each PDF is checked as `attach` checks: prepared
    when the record's title is on its first pages, needs_manual_preparation (with why) when
    not. Web pages instead of PDFs are refused, not saved. Only identifiers (DOI, PMID, PMCID)
    and UNPAYWALL_EMAIL / OPENALEX_API_KEY / OPENALEX_EMAIL leave the machine; answers are
    cached, and each PDF is recorded as it arrives, so a second run resumes and asks nothing
    twice. SCREENER_EUROPEPMC_URL, SCREENER_EUROPEPMC_PDF_URL, SCREENER_UNPAYWALL_URL and
    SCREENER_OPENALEX_URL point at other servers.

    \b
    Examples:
      screener fulltext get --dry-run
      UNPAYWALL_EMAIL=me@example.org screener fulltext get
      screener fulltext get --ids pmid:12345678 --json
    """
    from ..fulltext import get as ft

    review = find_review(None)
    sources = ft.configured_sources(review)
    records = ft.wanted(review, ids)
    if dry_run:
        counted = ft.plan(records, sources)
        if as_json:
            print_json(counted)
            return
        per = ", ".join(f"{n} {ft.LABELS[s]}" for s, n in counted["lookups"].items())
        lacking = len(counted["without_doi_pmid_or_pmcid"])
        console.print(
            Text(
                f"{counted['records']} records without a full text: at most {per} look-ups"
                + (f"; {lacking} have no DOI, PMID or PMCID" if lacking else "")
                + "; nothing was asked"
            )
        )
        return
    ft.check_environment(sources)
    who = _who(reviewer)
    with progress_bar("Finding open-access PDFs", hidden=as_json) as (progress, task):

        def say(message: str) -> None:
            progress.console.print(Text(message, style="yellow"))

        result = ft.get(
            review,
            records,
            sources,
            who,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            on_retry=say,
        )
    if as_json:
        print_json(result.to_dict())
        return
    shown = [o for o in result.outcomes if o.outcome != ft.FOUND or o.state != "prepared"]
    if shown:
        table = Table(title="Not prepared", title_justify="left")
        for column in ("record", "outcome", "why"):
            table.add_column(column)
        for o in shown:
            what = o.state if o.outcome == ft.FOUND else o.outcome
            table.add_row(o.record_id, what.replace("_", " "), o.note or "; ".join(o.tried))
        console.print(table)
    c = result.counts()
    asked = sum(result.requests.values())
    console.print(
        Text(
            f"{len(result.outcomes)} records: {c['prepared']} prepared, {c['needs_manual_preparation']} "
            f"need a look (screener fulltext status), {c['not_found']} not found, "
            f"{c['no_identifier']} without DOI/PMID/PMCID; {asked} requests, "
            f"{sum(result.cached.values())} answers from the cache"
        )
    )


@fulltext.command()
@json_option
def status(as_json: bool) -> None:
    """The state of each full-text report: attached, missing, not available.

    --json: one object per record at the full-text stage with `record_id`, `state`, `title`,
    and, when a file is attached, `sha256` (of the PDF's bytes), `path` (relative to the
    review's folder) and `present` (whether this clone has the file).
    """
    from ..fulltext import reports

    review = find_review(None)
    items, skipped = reports(review)
    for line in skipped:
        err_console.print(Text(f"warning: {line}", style="yellow"))
    # A file this clone has is checked against the manifest's sha256: a PDF replaced by hand
    # (or damaged) is said as such, never counted as the record's report.
    damaged = {r.record.id for r in items if r.has_file and r.present and not _intact(review, r)}
    if as_json:
        out = []
        for r in items:
            item = r.to_dict()
            if r.has_file and r.present:  # checked against the manifest's sha256 (a clone's file)
                item["intact"] = r.record.id not in damaged
            out.append(item)
        print_json(out)
        return
    # A list, not a table (as `conflicts`): five columns at 80 cells split states and paths a
    # line per fragment, 1,013 lines for 122 records.
    console.print(Text("Full texts", style="bold"))
    for r in items:
        for line in fulltext_lines(r, console.width):
            console.print(line, no_wrap=True, overflow="ignore", crop=False)
        if r.record.id in damaged:
            console.print(Text("    replaced or damaged since it was attached: attach it again", style="red"))
    counts: dict[str, int] = {}
    for r in items:
        counts[r.state] = counts.get(r.state, 0) + 1
    lacking = sum(r.has_file and not r.present for r in items)
    line = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(counts.items()))
    console.print(Text(f"{len(items)} records at the full-text stage: {line or 'none'}"))
    if lacking:
        console.print(
            Text(f"{lacking} attached PDFs are not in this clone (copy fulltext/pdf/ from a teammate)")
        )
    if damaged:
        said = f"{len(damaged)} attached PDFs were replaced or damaged (screener check names them)"
        console.print(Text(said, style="red"))


def _intact(review, report) -> bool:  # noqa: ANN001 - Review, fulltext.Report
    from ..fulltext import verified_pdf

    try:
        verified_pdf(review, report)
    except ScreenerError:
        return False
    return True


def _middle_cut(text: str, width: int) -> str:
    """`text` in `width` cells, its middle replaced by "…" (a path's folder and file name show)."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    if width < 3:
        return "…"[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return set_cell_size(text, head) + "…" + text[-tail:]


def fulltext_lines(r, width: int) -> list[Text]:  # noqa: ANN001 - fulltext.Report
    """One report in one or two lines at any width: the id and the state whole, the source, and
    the file's path cut in the middle to what is left; then the note (the JSON's, e.g. a title
    not found in the first pages) and the title, cut with "…"."""
    from rich.cells import cell_len

    head = Text.assemble((r.record.id, "bold"), "  ", r.state)
    if r.entry is not None and r.entry.source:
        head.append(f"  {r.entry.source}", style="dim")
    where = r.path + ("" if r.present or not r.has_file else " (not in this clone)") if r.has_file else ""
    room = width - cell_len(head.plain) - 2
    lines = [head]
    if where and room >= 12:
        head.append("  " + _middle_cut(where, room))
    elif where:
        lines.append(Text("    " + _middle_cut(where, max(width - 4, 1))))
    note = r.entry.note if r.entry is not None else ""
    title = " ".join((r.record.title or "(no title)").split())
    second = Text("    ")
    if note:
        second.append(" ".join(note.split()) + " · ", style="yellow")
    second.append(title, style="italic")
    second.truncate(max(width, 8), overflow="ellipsis")
    return [*lines, second]


@fulltext.command()
@click.argument("record_id")
def show(record_id: str) -> None:
    """Print the text of RECORD_ID's report, page by page.

    \b
    Example:
      screener fulltext show pmid:12345678 | less
    """
    from ..fulltext import report_text

    review = find_review(None)
    click.echo(report_text(review, record_id), nl=False)


@fulltext.command()
@click.argument("record_id")
@click.argument("state", type=click.Choice(["not_available", "needs_manual_retrieval", "prepared"]))
@click.option("--note", default="", help="Why (e.g. 'library has no holdings').")
@click.option("--reviewer", default=None, help="Your name, recorded in the manifest (default: login name).")
def mark(record_id: str, state: str, note: str, reviewer: str | None) -> None:
    """Set RECORD_ID's report state by hand: not_available (no copy can be found),
    needs_manual_retrieval (the attached file is wrong: set it aside), prepared (a file that
    needed a look is fine). The PRISMA count of reports not retrieved stays the screen's `r`.

    \b
    Examples:
      screener fulltext mark pmid:12345678 not_available --note "no library holds it"
      screener fulltext mark doi:10.1000/xyz prepared
    """
    from ..fulltext import mark as set_state

    review = find_review(None)
    entry = set_state(review, record_id, state, _who(reviewer), note)
    console.print(Text(f"{entry.record_id}: {entry.state}"))


@fulltext.command(name="list")
@click.option("--missing", is_flag=True, required=True, help="The records with no file attached.")
@click.option("--format", "fmt", type=click.Choice(["ris", "csv"]), default="csv", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write here."
)
def list_missing(missing: bool, fmt: str, output: Path | None) -> None:
    """Export the records at the full-text stage that have no file yet (for interlibrary loans);
    records already final without one (excluded, not retrieved) are left out.

    \b
    Example:
      screener fulltext list --missing --format ris -o ill-requests.ris
    """
    from ..export import WRITERS, final_decisions
    from ..fulltext import missing_reports
    from ..outputs import check_output_file, write_output

    if output is not None and str(output) == "-":
        output = None  # "-" is standard output, as for export and report
    if output is not None:
        check_output_file(output)
    review = find_review(None)
    lacking, final = missing_reports(review)
    rows = [row for row in final_decisions(review, "full-text", "all") if row.record.id in lacking]
    for row in rows:
        row.notes.append(f"full text: {lacking[row.record.id].replace('_', ' ')}")
    text = WRITERS[fmt](rows)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text.encode("utf-8"))
        err_console.print(Text(f"{len(rows)} records without a full text exported to {output}"))
    if final:
        err_console.print(
            Text(
                f"{plural(final, 'record')} without a full text left out: final already "
                "(excluded, not retrieved)"
            )
        )
