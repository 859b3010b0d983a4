"""Deciding dedup's uncertain pairs in the terminal (`screener dedup --review`): each pair side
by side; s = same, d = different, k = skip, q = quit. Every answer is appended to
labels/dedup.csv before the next pair is shown; a pair decided before says by whom and when."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..words import plural
from .decisions import append_decision, pair_key, read_decisions


def review_pairs(review, outcome, reviewer: str | None, console: Console) -> int:  # noqa: ANN001 - Review, ReviewDedup
    """Show each pending uncertain pair side by side; s = same, d = different, k = skip, q = quit."""
    import os

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
            title=Text(f"Pair {number} of {len(pending)}: {pair.reason.split(':')[0]}"),
            title_justify="left",
            show_lines=True,
            expand=True,
        )
        table.add_column("", style="bold", width=9)
        # Ids and titles come from exports: plain text, never markup, folded, never cut.
        table.add_column(Text(f"{a.id} ({a.search})"), ratio=1, overflow="fold")
        table.add_column(Text(f"{b.id} ({b.search})"), ratio=1, overflow="fold")
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
            table.add_row(label, Text(getter(a)), Text(getter(b)))
        console.print(table)
        console.print(Text(pair.reason, style="dim"))
        before = earlier.get(pair_key(pair.id_1, pair.id_2))
        if before is not None:
            who_when = f"{before.reviewer or 'someone'} on {before.timestamp or 'an unknown day'}"
            console.print(Text(f"decided before: {before.decision} by {who_when}"))
        # A tall table scrolls its title and column ids off a small terminal: say them again by the keys.
        console.print(
            Text(f"Pair {number} of {len(pending)}: left {a.id} ({a.search}), right {b.id} ({b.search})")
        )
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
        saved = append_decision(path, pair.id_1, pair.id_2, "same" if key == "s" else "different", who)
        decided += 1
        console.print(f"saved: {'same' if key == 's' else 'different'}")
        if saved.clock_note:
            console.print(Text(f"note: {saved.clock_note}"))
    console.print(f"{plural(decided, 'decision')} saved in {path}")
    return decided
