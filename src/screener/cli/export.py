"""Exporting decided records: export."""

from __future__ import annotations

from pathlib import Path

import click

from ..words import plural
from . import cli
from .common import (
    err_console,
    find_review,
    review_option,
)


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
    from ..export import export
    from ..outputs import check_output_file, write_output

    if output is not None and str(output) == "-":  # the usual spelling of standard output
        output = None

    if output is not None:
        check_output_file(output)  # before any work: a bad path costs nothing
    review = find_review(review_dir)
    text, count = export(review, stage, decision, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)
    exported = plural(count, decision + " study", decision + " studies")
    err_console.print(f"{exported} at {stage} exported" + (f" to {output}" if output else ""))
