"""The review report for people who will not open a terminal: report."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from ..words import plural
from . import cli
from .common import err_console, find_review, json_option, print_json, review_option


@cli.command("report")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="Write the page here (atomically); '-' is standard output.",
)
@review_option
@json_option
def report_cmd(output: Path, review_dir: Path | None, as_json: bool) -> None:
    """Write the review as one self-contained HTML page for co-authors, editors and peer
    reviewers: searches, PRISMA 2020 diagram (each box links to its record ids), deduplication,
    screening progress and agreement, recall curves and the stopping rule, included and
    excluded studies. It opens from disk in any browser: no network, nothing to install.

    With --json, the page's numbers for scripts (keys as in 'prisma --format json' and
    'agreement --json') instead of the page.

    \b
    Examples:
      screener report                     # report.html here
      screener report -o ~/Desktop/nets-report.html
      screener report -o - > report.html
      screener report --json
    """
    from ..outputs import check_output_file, write_output
    from ..report import report_data
    from ..report.page import render

    to_stdout = str(output) == "-"
    # A pipe or device is written to only when named: report.html found here is a plain file.
    named = click.get_current_context().get_parameter_source("output") is not ParameterSource.DEFAULT
    if as_json and named and not to_stdout:
        raise click.UsageError(
            "--json prints the report's numbers to standard output, and -o names where the page "
            "goes: drop -o (screener report --json > numbers.json)"
        )
    if not to_stdout and not as_json:
        check_output_file(output, special=named)  # before any work: a bad path costs nothing
    review = find_review(review_dir)
    with err_console.status("Building the report"):
        data = report_data(review)
        page = "" if as_json else render(data)
    if as_json:
        print_json(data.to_dict())
        return
    if to_stdout:
        click.echo(page, nl=False)
        return
    write_output(output, page, special=named)
    status = "in progress" if data.counts.in_progress else "complete"
    err_console.print(
        f"Report written to {output} ({plural(len(data.included), 'study', 'studies')} included; "
        f"screening {status})",
        highlight=False,
        markup=False,
    )
