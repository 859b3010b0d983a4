"""What every stage's commands share: the consoles, tables that never cut ids, the review and
stage options, strict JSON, progress bars."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.cells import cell_len
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.segment import Segment
from rich.table import Table as RichTable
from rich.text import Text

from ..outputs import finite
from ..records import safe_text
from ..review import Review
from ..words import plural

# A number as a table shows it: 0.716, (0.653, 93.7%, 1,110, 934), 2012-08-20.
_NUMBER = re.compile(r"[(\[]?[-+\u2212]?\d[\d.,:%/\u2013-]*[)\]]?[,;]?")


def _widen(widths: list[int], floors: list[int], least: list[int]) -> list[int] | None:
    """`widths` with each column at least its floor, the same total, taken from the widest
    columns above their own floor (never below `least`); None when they cannot give enough."""
    out = [max(w, f) for w, f in zip(widths, floors, strict=True)]
    excess = sum(out) - sum(widths)
    while excess > 0:
        spare = [(w - max(f, m), k) for k, (w, f, m) in enumerate(zip(out, floors, least, strict=True))]
        room, widest = max(spare)
        if room <= 0:
            return None
        out[widest] -= 1
        excess -= 1
    return out


class _Console(Console):
    """Rich's console, but a reader that stops reading (`screener status | head -1`) ends the
    command quietly with success, as a pipe's consumer asked, not with exit code 1; and no
    text it prints holds a control or bidi character (an id in a labels file, a server's
    error): every segment but rich's own cursor controls passes `safe_text`."""

    def render(self, renderable: Any, options: Any = None) -> Iterator[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or segment.text.isprintable():
                yield segment
            else:
                yield Segment(safe_text(segment.text), segment.style)

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
    holding "[/b]" comes from a review file or an export and must never be read as markup.
    A number is never split across lines ("0.71" / "6" reads as two numbers), nor a word of a
    short-name column or of a header, when the terminal has room for them whole."""

    def __init__(self, *args: Any, title: Any = None, **kwargs: Any) -> None:
        self._numbers: list[int] = []  # per column: the widest number in it
        self._words: list[int] = []  # per column: the widest word that should stay whole
        self._names: list[bool] = []  # per column: it holds short names (UNWRAPPED)
        super().__init__(*args, title=Text(title) if isinstance(title, str) else title, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        cells = tuple(Text(c) if isinstance(c, str) else c for c in cells)
        for k, cell in enumerate(cells[: len(self.columns)]):
            if isinstance(cell, Text):
                self._keep(k, cell.plain, whole_words=self._names[k])
        super().add_row(*cells, **kwargs)

    # Short names (a stage, a reviewer) are never folded ("title-abst / ract"); a pair of names
    # wraps between them. Ids are folded, not kept whole: a 70-character DOI kept on one line
    # would leave the title no room at 80 columns.
    UNWRAPPED = frozenset(("stage", "pair"))

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        # A narrow terminal folds a cell onto more lines; it never cuts an id or a title with
        # "…", which would make two records look alike and an id impossible to copy.
        kwargs.setdefault("overflow", "fold")
        header = args[0] if args else kwargs.get("header", "")
        self._numbers.append(0)
        self._words.append(0)
        self._names.append(str(header).strip().lower() in self.UNWRAPPED)
        self._keep(len(self._words) - 1, str(header), whole_words=True)
        super().add_column(*args, **kwargs)

    def _keep(self, column: int, text: str, whole_words: bool) -> None:
        for word in text.split():
            if _NUMBER.fullmatch(word):
                self._numbers[column] = max(self._numbers[column], cell_len(word))
            elif whole_words:
                self._words[column] = max(self._words[column], cell_len(word))

    def _calculate_column_widths(self, console: Console, options: Any) -> list[int]:
        # Rich narrows the widest columns evenly to fit, whatever they hold; give each column
        # back the width of its widest number (then of its names and header words) from the
        # columns that have room to spare. When even that cannot fit, rich's widths stand.
        widths = super()._calculate_column_widths(console, options)
        pads = [self._get_padding_width(k) for k in range(len(widths))]
        numbers = [n + p for n, p in zip(self._numbers, pads, strict=True)]
        for floors in ([max(n, w + p) for n, w, p in zip(numbers, self._words, pads, strict=True)], numbers):
            kept = _widen(widths, floors, [p + 1 for p in pads])
            if kept is not None:
                return kept
        return widths

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


def echo(text: str, err: bool = False) -> None:
    """click.echo for lines that hold what a file brought (ids, notes): `safe_text` first."""
    click.echo(safe_text(text), err=err)


# JSON escapes C0 controls itself; these it prints raw unless told to escape everything.
_JSON_RAW_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def print_json(data: Any) -> None:
    """Strict JSON: an undefined number (kappa with no overlap) is null, never NaN. DEL, C1 and
    bidi controls are written as \\u escapes: a script reads the same strings, a terminal
    shows them as text."""
    text = json.dumps(finite(data), indent=2, ensure_ascii=False, allow_nan=False)
    click.echo(_JSON_RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


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
            f"{reviewer} decided differently on copies of "
            f"{plural(len(studies), view.stage + ' study', view.stage + ' studies')} that "
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
