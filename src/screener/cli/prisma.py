"""PRISMA 2020 counts, explanations and diagram: prisma."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from ..words import plural
from . import cli
from .common import (
    Table,
    console,
    echo,
    err_console,
    find_review,
    print_json,
    review_option,
)


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
@click.option(
    "--round",
    "round_",
    type=click.IntRange(min=1),
    default=None,
    help="The review version (after 'screener update') whose flow to show, as it was; default the latest.",
)
@review_option
def prisma(
    fmt: str, box: str | None, diagram: Path | None, round_: int | None, review_dir: Path | None
) -> None:
    """PRISMA 2020 flow counts, computed from the review's files (nothing typed by hand).

    JSON keys follow the PRISMA2020 R package's data template. Searches count by their `kind`
    (database, register, website, organisation, citations in searches/NAME.toml).

    \b
    Examples:
      screener prisma --format json
      screener prisma --explain duplicates
      screener prisma --format csv > PRISMA.csv   # for the PRISMA2020 R package
      screener prisma --diagram prisma.png
      screener prisma --round 1 --diagram round1.svg   # the first round's flow, after an update
    """
    from ..outputs import FIGURE_SUFFIXES, check_output_file
    from ..prisma import explain, prisma_counts

    if diagram is not None:
        check_output_file(diagram, FIGURE_SUFFIXES)  # before any work: a bad path costs nothing
    review = find_review(review_dir)
    with err_console.status("Counting"):
        counts = prisma_counts(review, round=round_)
    if box:
        if box == "duplicates":  # each removed copy, its search and the record it joined
            rows = counts.removed_copies
            if fmt == "json":
                print_json(rows)
                return
            for row in rows:
                kept = f"{row['merged_into']} ({row['merged_into_search']})"
                echo(f"{row['record_id']} ({row['search']}) -> {kept}")
            return
        ids = explain(counts, box)
        if fmt == "json":
            print_json(ids)
            return
        from ..chase import provenance

        # A record from citation searching says which seed it came from, and how.
        chased = [s.name for s in review.searches() if s.kind == "citations"]
        found_by = provenance(r for name in chased for r in review.records(name))
        for record_id in ids:
            paths = found_by.get(record_id)
            echo(f"{record_id}	{'; '.join(p.describe() for p in paths)}" if paths else record_id)
        return
    data = counts.to_dict()
    if diagram is not None:
        from ..prisma.diagram import draw

        title = review.config.title
        if (latest := review.current_round()) > 1:  # which flow this is, once there is more than one
            title = f"{title} (round {counts.round} of {latest})".lstrip()
        draw(counts, diagram, title=title)
        err_console.print(f"PRISMA flow diagram written to {diagram}")
    if fmt == "json":
        print_json(data)
        return
    if fmt == "csv":
        from ..prisma.template import template_changes, to_template_csv

        for change in template_changes(counts):
            err_console.print(f"warning: {change}", highlight=False, markup=False, soft_wrap=True)
        click.echo(to_template_csv(counts, review.config.raw.get("prisma", {})), nl=False)
        return
    if (latest := review.current_round()) > 1:
        console.print(f"Round {counts.round} of {latest} ('prisma --round N' shows another round's flow)")
    table = Table(title="PRISMA 2020", title_justify="left")
    table.add_column("box")
    table.add_column("n", justify="right")
    from ..prisma import BOXES

    for name in BOXES:
        table.add_row(name, str(data[name]))
    for database, n in data["database_results_by_database"].items():
        table.add_row(f"  {database}", str(n))
    for key, label in (("dbr_excluded", "excluded"), ("other_excluded", "excluded (other methods)")):
        for reason, n in sorted(data[key].items(), key=lambda item: -item[1]):
            table.add_row(f"  {label}: {reason}", str(n))
    console.print(table)
    included = f"{plural(data['total_studies'], 'study', 'studies')} included"
    if counts.updated:
        included = f"{data['previous_studies']} previous + {data['new_studies']} new = {included}"
    # The diagram's own numbers: databases and registers, then other methods after a "+".
    other = counts.identified_by_other_methods
    identified = f"{counts.identified_by_databases}" + (f" + {other}" if other else "")
    screened = f"{data['records_screened']}" + (f" + {len(counts.other_studies)}" if other else "")
    assessed = f"{data['dbr_assessed']}" + (f" + {data['other_assessed']}" if other else "")
    # While screening goes on, the boxes hold the records that go to each stage, not yet screened.
    done = not counts.in_progress
    to_screen = "screened" if done else "for screening"
    to_assess = "assessed in full text" if done else "for full-text assessment"
    console.print(
        f"{identified} records identified → {data['duplicates']} duplicates removed → "
        f"{screened} {to_screen} → {assessed} {to_assess} → {included}"
        + (" (databases and registers + other methods)" if other else "")
    )
    if counts.in_progress:
        console.print(Text(f"In progress, not final: {counts.in_progress_text()}", style="bold yellow"))
