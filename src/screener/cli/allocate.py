"""Allocation: `screener allocate`, a balanced share of the records for each active screener."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli
from .common import (
    Table,
    console,
    err_console,
    find_review,
    json_option,
    print_json,
    review_option,
    stage_option,
)


@cli.command()
@stage_option
@click.option("--dry-run", is_flag=True, help="Show what would be allocated; write nothing.")
@review_option
@json_option
def allocate(stage: str, dry_run: bool, review_dir: Path | None, as_json: bool) -> None:
    """Give each active screener a balanced share of the records that still need votes.

    Each record that is neither final nor in conflict gets as many screeners as it needs votes
    ([screening] votes; two in the verified sample), spread so that shares differ by at most one
    record. The assignments are appended to allocation/<stage>.csv (commit it with the labels):
    lines already there never change, so run it again after an update, or when a screener joins
    or leaves (active = false), and only what is not yet allocated moves. 'screen' then shows
    each screener their share (--all: every record); a vote outside one's share counts too.

    \b
    Example:
      screener allocate --stage title-abstract --dry-run
      screener allocate --json
    """
    from ..screening.allocate import allocate as allocate_records

    review = find_review(review_dir)
    with err_console.status("Reading the records and decisions"):
        plan = allocate_records(review, stage, dry_run=dry_run)
    if as_json:
        print_json(plan.to_dict() | {"dry_run": dry_run})
        return
    for warning in plan.warnings:
        err_console.print(f"warning: {warning}", style="yellow", highlight=False)
    where = plan.path.relative_to(review.root) if plan.path.is_absolute() else plan.path
    if plan.new:
        verb = "would append" if dry_run else "appended"
        votes = f"{plan.votes} vote{'s' if plan.votes > 1 else ''} per record"
        if plan.verify_sample:
            votes += ", two in the verified sample"
        click.echo(f"{stage}: {verb} {len(plan.new)} assignments to {where} ({votes})")
    else:
        click.echo(f"{stage}: nothing new to allocate; every record waiting for votes has its screeners")
    table = Table(title=f"Allocation at {stage}", title_justify="left")
    for column in ("screener", "allocated", "decided", "still to do", "new", "decided outside share"):
        table.add_column(column, justify="left" if column == "screener" else "right")
    for name, share in plan.shares.items():
        table.add_row(
            name if share["active"] else f"{name} (left)",
            str(share["allocated"]),
            str(share["decided"]),
            str(share["to_do"]),
            str(share["new"]),
            str(share["decided_outside_share"]),
        )
    console.print(table)
    if plan.short:
        click.echo(
            f"{len(plan.short)} records need more screeners than are active: they wait for votes from "
            "whoever joins (or lower [screening] votes)"
        )
