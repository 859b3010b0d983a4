"""What every stage's commands share: the consoles, tables that never cut ids, the review and
stage options, strict JSON, progress bars."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table as RichTable
from rich.text import Text

from ..outputs import finite
from ..review import Review


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

    # Short names are never wrapped ("title-abst / ract"). Ids are folded, not kept whole: a
    # 70-character DOI kept on one line would leave the title no room at 80 columns.
    UNWRAPPED = frozenset(("stage", "pair"))

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        # A narrow terminal folds a cell onto more lines; it never cuts an id or a title with
        # "…", which would make two records look alike and an id impossible to copy.
        kwargs.setdefault("overflow", "fold")
        header = args[0] if args else kwargs.get("header", "")
        if str(header).strip().lower() in self.UNWRAPPED:
            kwargs.setdefault("no_wrap", True)
        super().add_column(*args, **kwargs)


def review_option(function: Any) -> Any:
    return click.option(
        "--review",
        "review_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The review directory (default: the nearest folder upward with a review.toml).",
    )(function)


def find_review(review_dir: Path | None) -> Review:
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


def print_json(data: Any) -> None:
    """Strict JSON: an undefined number (kappa with no overlap) is null, never NaN."""
    click.echo(json.dumps(finite(data), indent=2, ensure_ascii=False, allow_nan=False))


def stage_option(function: Any) -> Any:
    return click.option(
        "--stage",
        type=click.Choice(["title-abstract", "full-text"]),
        default="title-abstract",
        show_default=True,
        help="The screening stage.",
    )(function)


def warn_about_decision_files(view: Any) -> None:
    """Say on stderr what the decision files hold that counts for nothing."""

    def warn(text: str) -> None:
        err_console.print(Text(f"warning: {text}", style="yellow"), soft_wrap=True)

    def some(ids: list[str]) -> str:
        from ..records import clean_text  # ids from a file anyone can edit: no escape sequence

        return ", ".join(map(clean_text, ids[:3])) + (" ..." if len(ids) > 3 else "")

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


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """A CSV the user asked for, to open in a spreadsheet: cells that start like a formula are
    quoted (ids and explanations come from exports), written atomically where asked."""
    from ..outputs import people_csv, write_output

    write_output(path, people_csv(columns, rows))


def build_ranker(texts: list[str], config: Any, cache_dir: Path, question: str = "") -> Any:
    """A Ranker for screen and rank, with a progress bar while its features are built (the
    first time on a large review takes tens of seconds; the bar vanishes when it is done).
    `question`: the review's (ranking.question.review_question), "" for none."""
    from ..ranking import Ranker

    with progress_bar("Reading the records for ranking", transient=True) as (progress, task):
        return Ranker(
            texts,
            config,
            cache_dir=cache_dir,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            question=question,
        )


class progress_bar:
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
