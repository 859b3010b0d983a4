"""The interactive screen: one record at a time, single keystrokes, every decision on disk
before the next record appears.

`ScreenSession` holds the logic (queue, decisions, undo, notes) and is driven by keys, so it
is testable without a terminal; `run_terminal` draws it with rich and reads keys with click.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ScreenerError
from ..records import Record
from .decisions import Decision, DecisionLog

HELP = {
    "title-abstract": [
        ("i", "include"),
        ("e", "exclude"),
        ("m", "maybe"),
        ("u", "undo"),
        ("n", "note"),
        ("s", "skip for now"),
        ("?", "help"),
        ("q", "quit"),
    ],
    "full-text": [
        ("i", "include"),
        ("e", "exclude (then a reason)"),
        ("r", "report not retrieved"),
        ("m", "maybe"),
        ("u", "undo"),
        ("n", "note"),
        ("s", "skip for now"),
        ("?", "help"),
        ("q", "quit"),
    ],
}


def require_terminal(command: str, hint: str) -> None:
    """Interactive commands read single keystrokes: without a terminal on standard input (a
    pipe, /dev/null, a CI job) they stop before any work, in one line, instead of failing in
    the terminal library or taking a pipe's bytes for decisions."""
    import sys

    try:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or replaced
        interactive = False
    if not interactive:
        raise ScreenerError(f"'{command}' needs an interactive terminal (its input is not one)", hint=hint)


def order_records(records: list[Record], order: str, seed: str) -> list[Record]:
    """The screening order: as the searches list them (file), or shuffled per reviewer (random)."""
    if order == "random":
        shuffled = list(records)
        random.Random(seed).shuffle(shuffled)
        return shuffled
    return list(records)


@dataclass
class ScreenSession:
    stage: str
    records: list[Record]  # in screening order
    log: DecisionLog
    reasons: list[str]
    done: dict[str, Decision] = field(default_factory=dict)  # this reviewer's current decisions
    queue: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # record ids decided in this session, for undo
    allow_maybe: bool = True  # false for a resolver: a maybe settles no conflict
    pending_note: str = ""
    message: str = ""
    context: dict[str, str] = field(default_factory=dict)  # record id -> text shown above it
    rerank: Callable[[ScreenSession], None] | None = None  # reorders `queue` after each decision
    skipped: set[str] = field(default_factory=set)
    order: str = "file"  # ranked, random or file: the stopping estimate needs ranked or random

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.records}
        self.row_of = {r.id: k for k, r in enumerate(self.records)}
        if not self.queue:
            self.queue = [r.id for r in self.records if r.id not in self.done]

    @property
    def current(self) -> Record | None:
        return self.by_id[self.queue[0]] if self.queue else None

    @property
    def screened(self) -> int:
        return len(self.done)

    @property
    def included(self) -> int:
        return sum(1 for d in self.done.values() if d.includes)

    def stopping_estimate(self):  # noqa: ANN201 - ranking.stopping.LiveEstimate | None
        """The stopping rule on this reviewer's decisions, in the order they were made."""
        if self.order not in ("ranked", "random") or self.stage != "title-abstract":
            return None
        from ..ranking.stopping import live_estimate

        decided = sorted(self.done.values(), key=lambda d: d.timestamp)
        labels = [1 if d.includes else 0 for d in decided]
        return live_estimate(labels, len(self.records), ranked=self.order == "ranked")

    def decide(self, decision: str, reason: str = "") -> Decision:
        record = self.current
        assert record is not None
        entry = self.log.append(record.id, decision, reason, self.pending_note)
        self.done[record.id] = entry
        self.history.append(record.id)
        self.queue.pop(0)
        self.pending_note = ""
        self.message = f"saved: {decision}" + (f" ({reason})" if reason else "")
        if self.rerank is not None:
            self.rerank(self)
        return entry

    def undo(self) -> None:
        if not self.history:
            self.message = "nothing to undo in this session"
            return
        record_id = self.history.pop()
        self.log.append(record_id, "undecided", "", "undo")
        self.done.pop(record_id, None)
        self.queue.insert(0, record_id)
        self.message = "undone: the record is back"
        if self.rerank is not None:
            self.rerank(self)
            self.queue.remove(record_id)
            self.queue.insert(0, record_id)

    def skip(self) -> None:
        if len(self.queue) > 1:
            self.skipped.add(self.queue[0])
            self.queue.append(self.queue.pop(0))
        self.message = "skipped for now"


class BackgroundRanking:
    """Retrains in a background thread, so the next record never waits for the model.

    After each decision the next record comes from the latest ranking already computed (at
    most one decision behind), and a new training starts on every decision so far. Only rows
    still waiting are reordered; the record on screen never changes under the reviewer.

    Ranking is an aid: when the model cannot rank these records, or its training fails, the
    records keep their order and the reviewer is told once, in the session's message line; a
    decision is never held up or lost for it, and no traceback reaches the screen.
    """

    def __init__(self, ranker) -> None:  # noqa: ANN001 - ranking.Ranker
        import threading

        self.ranker = ranker
        self.lock = threading.Lock()
        self.position = None  # rank position of every row in the latest ranking
        self.thread = None
        self.wanted = None  # (labelled rows, labels) waiting to be trained on
        self.failed = ""  # why ranking stopped, once it has
        self.told = False  # the reviewer has seen the notice or the failure

    def __call__(self, session: ScreenSession) -> None:
        """Apply the latest ranking to the queue, then train on the decisions so far."""
        self.apply(session)
        self.request(session)

    def request(self, session: ScreenSession) -> None:
        import threading

        import numpy as np

        row_of = session.row_of
        labelled = np.array([row_of[rid] for rid in session.done], dtype=np.int64)
        y = np.array([int(d.includes) for d in session.done.values()], dtype=int)
        with self.lock:
            if self.failed:
                return
            self.wanted = (labelled, y)
            if self.thread is not None and self.thread.is_alive():
                return  # the running thread picks up the newest request when it finishes
            self.thread = threading.Thread(target=self._train, daemon=True)
            self.thread.start()

    def _train(self) -> None:
        import numpy as np

        while True:
            with self.lock:
                wanted, self.wanted = self.wanted, None
            if wanted is None:
                return
            try:
                self.ranker.fit(*wanted)
            except Exception as exc:  # noqa: BLE001 - see the class docstring
                self.failed = f"ranking stopped ({type(exc).__name__}: {exc}); the order stays as it is"
                return
            if self.ranker.fitted:
                order = np.argsort(-self.ranker.scores, kind="stable")
                position = np.empty(len(order), dtype=np.int64)
                position[order] = np.arange(len(order))
                self.position = position

    def wait(self) -> None:
        """For tests and the end of a session: let the running training finish."""
        thread = self.thread
        if thread is not None:
            thread.join()

    def apply(self, session: ScreenSession) -> None:
        import numpy as np

        notice = self.failed or getattr(self.ranker, "notice", "")
        if notice and not self.told:
            self.told = True
            session.message = f"{session.message}; {notice}" if session.message else notice
        position = self.position
        if position is None or not session.queue:
            return
        row_of = session.row_of
        waiting = [rid for rid in session.queue if rid not in session.skipped]
        rows = np.array([row_of[rid] for rid in waiting], dtype=np.int64)
        ordered = [waiting[k] for k in np.argsort(position[rows], kind="stable")]
        session.queue = ordered + [rid for rid in session.queue if rid in session.skipped]


def highlighter(include: list[str], exclude: list[str]) -> Callable:
    """A function that styles a rich Text: include terms green, exclude terms red."""
    inc = [re.compile(p, re.IGNORECASE) for p in include]
    exc = [re.compile(p, re.IGNORECASE) for p in exclude]

    def apply(text) -> None:  # noqa: ANN001 - rich.text.Text
        for pattern in inc:
            text.highlight_regex(pattern, "bold green")
        for pattern in exc:
            text.highlight_regex(pattern, "bold red")

    return apply


def render(session: ScreenSession, console, highlight: Callable, show_help: bool = False) -> None:  # noqa: ANN001
    """Draw the current record (or the end) on a rich console."""
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    console.clear()
    total = len(session.records)
    header = Table.grid(expand=True)
    header.add_column(ratio=1)
    header.add_column(justify="right")
    header.add_row(
        ProgressBar(total=max(total, 1), completed=session.screened, width=max(10, console.width - 40)),
        f"{session.screened}/{total} screened, {session.included} included",
    )
    console.print(header)
    estimate = session.stopping_estimate()
    if estimate is not None:
        style = "bold green" if estimate.safe_to_stop else "dim"
        console.print(estimate.describe(), style=style, highlight=False)
    record = session.current
    if record is None:
        console.print(
            Panel(
                f"All {total} records of the {session.stage} stage are screened. q to quit, "
                "u to undo the last decision.",
                title="done",
            )
        )
    else:
        title = Text(record.title or "(no title)", style="bold")
        highlight(title)
        meta = " · ".join(
            x for x in (str(record.year or ""), record.journal or record.journal_abbrev, f"{record.id}") if x
        )
        authors = "; ".join(record.authors[:8]) + (" et al." if len(record.authors) > 8 else "")
        abstract = Text(record.abstract or "(no abstract)")
        highlight(abstract)
        body = Text.assemble(title, "\n", (meta, "dim"), "\n", (authors, "italic"), "\n\n", abstract)
        console.print(Panel(body, title=f"{session.stage}", expand=True))
        if record.id in session.context:
            console.print(session.context[record.id], style="magenta")
        if session.pending_note:
            console.print(f"note for this record: {session.pending_note}", style="yellow")
    if session.message:
        console.print(session.message, style="cyan")
    keys = [(k, meaning) for k, meaning in HELP[session.stage] if k != "m" or session.allow_maybe]
    if show_help:
        for key, meaning in keys:
            console.print(f"  [bold]{key}[/bold]  {meaning}")
    else:
        console.print("   ".join(f"[bold]{k}[/bold] {m.split(' (')[0]}" for k, m in keys))


def run_terminal(
    session: ScreenSession,
    console,
    highlight: Callable,
    getchar: Callable[[], str],  # noqa: ANN001
    prompt: Callable[[str], str],
) -> None:
    """The key loop. Returns when the reviewer quits."""
    show_help = False
    quit_asked = False  # q pressed once with a note not yet saved
    while True:
        render(session, console, highlight, show_help)
        show_help = False
        key = getchar().lower()
        if key == "q":
            if session.pending_note and not quit_asked:
                # A typed note lives only until the next decision: never drop it without asking.
                session.message = "your note is not saved yet: decide to keep it, or q again to drop it"
                quit_asked = True
                continue
            return
        quit_asked = False
        if key == "?":
            show_help = True
            continue
        if key == "u":
            session.undo()
            continue
        if session.current is None:
            continue
        if key == "i":
            session.decide("include")
        elif key == "m":
            if session.allow_maybe:
                session.decide("maybe")
            else:
                session.message = "a resolver decides include or exclude; maybe settles nothing"
        elif key == "s":
            session.skip()
        elif key == "n":
            session.pending_note = prompt("Note").strip()
            session.message = "note kept for the next decision" if session.pending_note else ""
        elif key == "r" and session.stage == "full-text":
            session.decide("not-retrieved")
        elif key == "e":
            if session.stage == "full-text":
                console.print("Reason for exclusion:")
                for number, reason in enumerate(session.reasons, start=1):
                    console.print(f"  [bold]{number}[/bold]  {reason}")
                console.print("  (any other key: back)")
                choice = getchar()
                if choice.isdigit() and 1 <= int(choice) <= len(session.reasons):
                    session.decide("exclude", session.reasons[int(choice) - 1])
                else:
                    session.message = "exclusion cancelled"
            else:
                session.decide("exclude")
        else:
            session.message = f"unknown key {key!r}: ? shows the keys"


class KeyReader:
    """Single keystrokes from the terminal, without losing keys typed ahead.

    click.getchar switches the terminal to raw mode for each key and discards what was typed
    meanwhile (TCSAFLUSH); a fast reviewer would lose decisions. Here the terminal stays in
    cbreak mode for the whole session and is switched back only for line prompts.
    """

    def __init__(self) -> None:
        import sys

        self.stream = sys.stdin
        self.fd = self.stream.fileno() if self.stream.isatty() else None
        self.saved = None

    def __enter__(self) -> KeyReader:
        if self.fd is not None:
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None and self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def getchar(self) -> str:
        import os

        if self.fd is None:
            char = self.stream.read(1)
            if not char:
                return "q"  # end of input: quit
            return char
        data = os.read(self.fd, 1)
        if not data:
            return "q"
        while True:  # a multi-byte UTF-8 character
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                if len(data) >= 4:
                    return ""
                data += os.read(self.fd, 1)

    def prompt(self, text: str) -> str:
        """A line of text, typed in the terminal's normal mode."""
        if self.fd is not None and self.saved is not None:
            import termios
            import tty

            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
            try:
                return input(f"{text}: ")
            finally:
                tty.setcbreak(self.fd, termios.TCSANOW)
        return input(f"{text}: ")
