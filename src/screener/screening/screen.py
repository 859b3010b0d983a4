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
from pathlib import Path

from ..errors import ScreenerError
from ..records import Record
from ..words import plural
from .decisions import Decision, DecisionLog

# (key, footer word, what it does): the footer shows the first two, `?` all three.
KEYS = {
    "title-abstract": [
        ("i", "include", "include: the record goes on to full text if the votes agree"),
        ("e", "exclude", "exclude: the record is out"),
        ("m", "maybe", "maybe: not sure from the abstract; counts as include (on to full text)"),
        ("u", "undo", "undo your last decision (also after a restart): the record is undecided again"),
        ("n", "note", "type a note, saved with your next decision on this record"),
        ("t", "tags", "type tags (comma-separated), saved with your next decision"),
        ("s", "skip", "skip for now: the record comes back at the end"),
        ("h", "history", "your decisions at this stage, newest first: open one to change it"),
        ("/", "search", "search the records by words in title, abstract, authors; screen the matches"),
        ("o", "link", "show (and open, with a display) the record's PubMed or DOI link"),
        ("space", "more", "scroll the abstract down (also PgDn, j); PgUp or k scrolls up"),
        ("?", "help", "this help"),
        ("q", "quit", "quit; your decisions are already saved"),
    ],
    "full-text": [
        ("i", "include", "include: the study is in the review if the votes agree"),
        ("e", "exclude", "exclude, then a reason by number (review.toml's exclusion reasons)"),
        ("r", "not-retrieved", "the report could not be retrieved"),
        ("m", "maybe", "maybe: counts as include when the votes are counted"),
        ("u", "undo", "undo your last decision (also after a restart): the record is undecided again"),
        ("n", "note", "type a note, saved with your next decision on this record"),
        ("t", "tags", "type tags (comma-separated), saved with your next decision"),
        ("s", "skip", "skip for now: the record comes back at the end"),
        ("h", "history", "your decisions at this stage, newest first: open one to change it"),
        ("/", "search", "search the records by words in title, abstract, authors; screen the matches"),
        ("o", "link", "open the report's PDF (with a display; else show its path), else the PubMed/DOI link"),
        ("space", "more", "scroll the report's text (or the abstract) down (also PgDn, j); PgUp or k up"),
        ("?", "help", "this help"),
        ("q", "quit", "quit; your decisions are already saved"),
    ],
}
# What a decision means at each stage (docs/review-format.md, "Votes").
MEANING = {
    "title-abstract": [
        "A record is final when enough screeners have voted ([screening] votes) and all agree;",
        "include and maybe agree with each other: the record goes on to full text.",
        "Any disagreement is a conflict for the resolver, who answers include or exclude (never maybe).",
    ],
    "full-text": [
        "A study is included when enough screeners include it (maybe counts as include);",
        "excluding votes must give the same reason. Any disagreement goes to the resolver,",
        "who answers include, exclude (with a reason) or not retrieved (never maybe).",
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
    # Record ids in the order of their decisions still in force, the newest last: what `u` takes
    # back. Seeded from the reviewer's file, so undo works after a restart too.
    history: list[str] = field(default_factory=list)
    allow_maybe: bool = True  # false for a resolver: a maybe settles no conflict
    pending_note: str = ""
    pending_tags: str = ""
    message: str = ""
    context: dict[str, str] = field(default_factory=dict)  # record id -> text shown above it
    rerank: Callable[[ScreenSession], None] | None = None  # reorders `queue` after each decision
    skipped: set[str] = field(default_factory=set)
    order: str = "file"  # ranked, random or file: the stopping estimate needs ranked or random
    # Records still waiting for this reviewer's vote (not final, in no conflict; their share
    # with an allocation); None: not counted (the resolver).
    need_vote: set[str] | None = None
    revisit: str | None = None  # a decided record opened from the history, to change its decision
    search: str = ""  # the words of the search being screened ("" = the full queue)
    matches: set[str] | None = None  # the records that match `search`
    scroll: int = 0  # first abstract line shown
    scroll_of: str | None = None  # the record `scroll` belongs to
    page_size: int = 10  # abstract lines on screen at the last draw: what a page scrolls
    stopping: StoppingInBackground | None = None  # computes the stopping rule off the key loop
    # Called once the first record is drawn: background work starts then, so that the first
    # drawing does not share the interpreter with numpy's and scikit-learn's imports.
    on_first_draw: Callable[[], None] | None = None
    abstracts: LazyAbstracts | None = None  # abstracts read when needed (a cache's), else all in place
    # After an update: record id -> the round that brought it (absent: round 1); the stopping
    # rule judges each round's records on their own.
    round_of: dict[str, int] = field(default_factory=dict)
    scope: str = ""  # what `records` are when not every record of the stage: "your share"
    # At full text: a record id -> the report's text with page marks, shown instead of the
    # abstract (None: no file, the abstract is shown); and -> the PDF's path ("" when none).
    # Given by the caller, which knows where reports live (screener.fulltext is a layer above).
    report_text: Callable[[str], str | None] | None = None
    report_file: Callable[[str], str] | None = None
    # Records no vote is waited for (final, or a conflict for the resolver), when the screen holds
    # every record (--all): they come after every record still waiting for votes.
    settled: set[str] = field(default_factory=set)
    # Final records -> (outcome, reason): a vote that disagrees would reopen one as a conflict, so
    # it takes the key twice (`confirming` holds the first press).
    finals: dict[str, tuple[str, str]] = field(default_factory=dict)
    confirming: tuple[str, str, str] | None = None

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.records}
        self.row_of = {r.id: k for k, r in enumerate(self.records)}
        if not self.queue:
            self.queue = self.waiting_first([r.id for r in self.records if r.id not in self.done])
        if not self.history:
            # File order is decision order; sorted() is stable, and a timestamp breaks no tie it should not.
            ordered = sorted(self.done.items(), key=lambda item: item[1].timestamp)
            self.history = [rid for rid, _ in ordered if rid in self.by_id]
        self._haystack: dict[str, str] = {}
        self.changes = 0  # decisions and undos so far: what cached views of `done` are keyed by
        self._labels: list[int] = []
        self._labels_for = -1
        self._rounds: tuple = ()
        self._rounds_for = -1
        self._need: int | None = None
        self._wrapped: tuple[tuple[str, int], list] | None = None  # the abstract's lines, last drawn
        self._shown_preparing = False  # the header said the ranking was being built, last drawn

    @property
    def current(self) -> Record | None:
        if self.revisit is not None:
            return self.by_id[self.revisit]
        rid = self._first_waiting()
        return self.by_id[rid] if rid is not None else None

    def _first_waiting(self) -> str | None:
        if self.matches is None:
            return self.queue[0] if self.queue else None
        return next((rid for rid in self.queue if rid in self.matches), None)

    @property
    def screened(self) -> int:
        return len(self.done)

    @property
    def included(self) -> int:
        return sum(1 for d in self.done.values() if d.includes)

    @property
    def still_need_vote(self) -> int | None:
        if self.need_vote is None:
            return None
        if self._need is None:  # counted once, then kept up to date by decide and undo
            self._need = len(self.need_vote - self.done.keys())
        return self._need

    def stopping_labels(self) -> list[int] | None:
        """This reviewer's decisions as the stopping rule reads them (1 relevant), in the order
        they were made; None when the rule says nothing here (file order, full text)."""
        if self.order not in ("ranked", "random") or self.stage != "title-abstract":
            return None
        if self._labels_for != self.changes:  # sorted once per change, not on every drawing
            decided = sorted(self.done.values(), key=lambda d: d.timestamp)
            self._labels = [1 if d.includes else 0 for d in decided]
            self._labels_for = self.changes
        return self._labels

    def stopping_input(self) -> tuple | None:
        """What the stopping rule reads, hashable: per round, (round, this reviewer's decisions
        on its records as stopping_labels gives them, its records), then whether the order is
        ranked and what the records are (`scope`); None where stopping_labels is None."""
        if self.order not in ("ranked", "random") or self.stage != "title-abstract":
            return None  # as stopping_labels: the rule says nothing here
        if self._rounds_for != self.changes:
            from . import stopping_rounds

            rounds = stopping_rounds(self.done, self.by_id.keys(), self.round_of)
            self._rounds = tuple((n, tuple(labels), total) for n, labels, total in rounds)
            self._rounds_for = self.changes
        return (self._rounds, self.order == "ranked", self.scope)

    def stopping_estimate(self):  # noqa: ANN201 - ranking.stopping.LiveEstimate | None
        """The stopping rule on this reviewer's decisions, in the order they were made, each
        round's records judged on their own."""
        wanted = self.stopping_input()
        return None if wanted is None else estimate_for(wanted)

    def shown_estimate(self):  # noqa: ANN201 - ranking.stopping.LiveEstimate | None
        """What the screen shows of the stopping rule: from the background worker when there
        is one (the latest it has computed), else computed now."""
        if self.stopping is None:
            return self.stopping_estimate()
        return self.stopping.latest(self)

    def news(self) -> bool:
        """Whether work in the background changed what the screen shows since it was last
        drawn: a newer stopping estimate, or the ranking ready (or stopped) after reading the
        records. The key reader asks while no key comes, so the screen never waits for one."""
        if self.stopping is not None and self.stopping.news():
            return True
        preparing = getattr(self.rerank, "preparing", None)
        return preparing is not None and preparing() != self._shown_preparing

    def waiting_first(self, ids: list[str]) -> list[str]:
        """`ids` in their order, the records still waiting for votes before the settled ones."""
        if not self.settled:
            return ids
        return [i for i in ids if i not in self.settled] + [i for i in ids if i in self.settled]

    def reopens(self, record_id: str, decision: str, reason: str) -> str:
        """What a vote would undo, when it disagrees with the record's final decision: a vote on a
        final record that disagrees turns it into a conflict for the resolver."""
        final = self.finals.get(record_id)
        if final is None:
            return ""
        outcome = "include" if decision in ("include", "maybe") else decision
        full_text = self.stage == "full-text"
        if (outcome, reason if full_text else "") == (final[0], final[1] if full_text else ""):
            return ""
        return final[0] + (f" ({final[1]})" if final[1] and full_text else "")

    def decide(self, decision: str, reason: str = "") -> Decision | None:
        """Save a decision on the record on screen (appended, fsynced) and move on. A record
        opened from the history gets a new line; its earlier ones stay in the file. A vote that
        would reopen a final record as a conflict is saved only when asked for twice in a row
        (None the first time)."""
        record = self.current
        assert record is not None
        final = self.reopens(record.id, decision, reason)
        if final and self.confirming != (record.id, decision, reason):
            self.confirming = (record.id, decision, reason)
            self.message = (
                f"{record.id} is final: {final}; a {decision} vote reopens it as a conflict for the "
                "resolver. Press the same key again to vote anyway, s to leave it"
            )
            return None
        self.confirming = None
        earlier = self.done.get(record.id)
        entry = self.log.append(record.id, decision, reason, self.pending_note, self.pending_tags)
        if self._need is not None and earlier is None and record.id in self.need_vote:
            self._need -= 1
        self.done[record.id] = entry
        self.changes += 1
        if record.id in self.history:
            self.history.remove(record.id)
        self.history.append(record.id)
        if record.id in self.queue:
            self.queue.remove(record.id)
        self.skipped.discard(record.id)
        self.pending_note = self.pending_tags = ""
        said = decision + (f" ({reason})" if reason else "") + (f" [{entry.tags}]" if entry.tags else "")
        if self.revisit is not None:
            self.revisit = None
            was = earlier.decision if earlier is not None else "undecided"
            self.message = f"changed {record.id}: {was} -> {said} (a new line; the old one stays)"
        else:
            self.message = f"saved: {said}"
        if self.rerank is not None:
            self.rerank(self)
        return entry

    def undo(self) -> None:
        """Take back this reviewer's last decision still in force (of this session or an
        earlier one): an `undecided` line is appended and the record is back on screen."""
        if not self.history:
            self.message = "nothing to undo: you have no decision at this stage"
            return
        record_id = self.history.pop()
        taken_back = self.done.pop(record_id, None)
        if self._need is not None and taken_back is not None and record_id in self.need_vote:
            self._need += 1
        self.changes += 1
        self.log.append(record_id, "undecided", "", "undo")
        self.revisit = None
        if record_id in self.queue:
            self.queue.remove(record_id)
        self.queue.insert(0, record_id)
        if self.matches is not None:
            self.matches.add(record_id)
        was = f" ({taken_back.decision})" if taken_back is not None else ""
        self.message = f"undone: your decision{was} on {record_id} is taken back; the record is back"
        if self.rerank is not None:
            self.rerank(self)
            self.queue.remove(record_id)
            self.queue.insert(0, record_id)

    def skip(self) -> None:
        if self.revisit is not None:
            if self.pending_note or self.pending_tags:  # they were typed for this record
                self.message = "decide to keep your note and tags, or n/t then Enter to clear them"
                return
            self.revisit = None
            self.message = "back to the queue; the decision is unchanged"
            return
        rid = self._first_waiting()
        if rid is not None and len(self.queue) > 1:
            self.skipped.add(rid)
            self.queue.remove(rid)
            self.queue.append(rid)
        self.message = "skipped for now"

    # -- history -------------------------------------------------------------------------

    def decided_newest_first(self) -> list[Decision]:
        """This reviewer's decisions in force at this stage, from their file (so the ones of
        earlier sessions too), the newest first."""
        from .decisions import latest

        entries = [d for d in latest(self.log.read()).values() if d.record_id in self.by_id]
        # By time, then (decisions in one millisecond) in the order latest() gives: the file's.
        entries.sort(key=lambda d: d.timestamp)
        return entries[::-1]

    def open_decided(self, record_id: str) -> None:
        """Show a decided record so that its decision can be changed (the next key appends)."""
        self.revisit = record_id
        self.pending_note = self.pending_tags = ""
        decision = self.done.get(record_id)
        self.message = (
            f"your decision: {decision.decision if decision else 'undecided'}; press a decision key to "
            "change it, esc (or s) to go back"
        )

    # -- search --------------------------------------------------------------------------

    def _text_of(self, record_id: str) -> str:
        text = self._haystack.get(record_id)
        if text is None:
            r = self.by_id[record_id]
            text = " ".join((r.title, r.abstract, " ".join(r.authors))).casefold()
            self._haystack[record_id] = text
        return text

    def find(self, words: str) -> None:
        """Screen only the records whose title, abstract or authors hold every word (case
        ignored); an empty search goes back to the full queue."""
        terms = words.casefold().split()
        if self.abstracts is not None:
            self.abstracts.fill_all()
        self.revisit = None
        if not terms:
            self.search, self.matches = "", None
            self.message = "the full queue again"
            return
        found = {rid for rid in self.by_id if all(t in self._text_of(rid) for t in terms)}
        waiting = sum(1 for rid in self.queue if rid in found)
        decided = len(found & self.done.keys())
        if not waiting:
            self.message = (
                f"no record waiting matches {words.strip()!r}"
                + (f" ({decided} you decided: h shows them)" if decided else "")
                + "; still the " + ("full queue" if self.matches is None else f"search {self.search!r}")
            )
            return
        self.search, self.matches = " ".join(words.split()), found
        self.message = (
            (f"1 record to screen matches {self.search!r}" if waiting == 1 else
             f"{waiting} records to screen match {self.search!r}")
            + (f" ({decided} already decided)" if decided else "")
            + "; / then Enter goes back to the full queue"
        )

    def matches_waiting(self) -> int:
        if self.matches is None:
            return len(self.queue)
        return sum(1 for rid in self.queue if rid in self.matches)


def record_link(record: Record) -> str:
    """Where the record can be read: PubMed for a PMID, else doi.org, else its own URL."""
    from urllib.parse import quote

    if record.pmid and record.pmid.isdigit():
        return f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/"
    if record.doi:
        return "https://doi.org/" + quote(record.doi, safe="/:;()._-<>")
    url = record.url.strip()
    if url.startswith(("https://", "http://")) and not any(c.isspace() or ord(c) < 32 for c in url):
        return url
    return ""


def can_open_links() -> bool:
    """A browser can be opened: a graphical display (X, Wayland), or macOS / Windows."""
    import os
    import sys

    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )

def estimate_for(wanted: tuple):  # noqa: ANN201 - ranking.stopping.LiveEstimate
    """The stopping rule on ScreenSession.stopping_input()."""
    from ..ranking.stopping import rounds_estimate

    rounds, ranked, scope = wanted
    return rounds_estimate([(n, list(labels), total) for n, labels, total in rounds], ranked, scope)


class StoppingInBackground:
    """The stopping rule, computed in a background thread after each change of the decisions:
    on 20,000 records it takes seconds, and a keystroke must not wait for it. The screen shows
    the latest estimate computed (at most a decision or two behind, said so), and is drawn
    again when a newer one arrives (`news`)."""

    def __init__(self, hold: bool = False) -> None:
        import threading

        self.lock = threading.Condition()
        self.hold = hold  # start no thread until release(): the first drawing comes first
        self.busy = False
        self.thread: threading.Thread | None = None
        self.wanted: tuple | None = None  # ScreenSession.stopping_input()
        self.asked: tuple | None = None
        self.result = None  # (the input it is for, LiveEstimate)
        self.failed = ""
        self.fresh = False  # a result not drawn yet

    def latest(self, session: ScreenSession):  # noqa: ANN201 - LiveEstimate | None
        wanted = session.stopping_input()
        if wanted is None:
            return None
        if wanted != self.asked:
            self.asked = wanted
            self._request(wanted)
        result = self.result
        self.fresh = False
        return result[1] if result is not None else None

    def release(self) -> None:
        with self.lock:
            self.hold = False
        if self.wanted is not None:
            self._request(self.wanted)

    def behind(self) -> bool:
        result = self.result
        return result is not None and result[0] != self.asked

    def news(self) -> bool:
        return self.fresh

    def _request(self, wanted: tuple) -> None:
        import threading

        with self.lock:
            self.wanted = wanted
            self.lock.notify_all()
            if self.failed or self.hold or self.thread is not None:
                return
            self.thread = threading.Thread(target=self._work, daemon=True)
            self.thread.start()

    def _work(self) -> None:
        while True:
            with self.lock:
                self.busy = False
                self.lock.notify_all()
                while self.wanted is None:
                    self.lock.wait()
                wanted, self.wanted = self.wanted, None
                self.busy = True
            try:
                self.result = (wanted, estimate_for(wanted))
            except Exception as exc:  # noqa: BLE001 - an aid: screening goes on without it
                with self.lock:
                    self.failed = f"the stopping rule failed ({type(exc).__name__}: {exc})"
                    self.busy = False
                    self.lock.notify_all()
                return
            self.fresh = True

    def wait(self) -> None:
        with self.lock:
            while self.thread is not None and not self.failed and (self.busy or self.wanted is not None):
                self.lock.wait()


class BackgroundRanking:
    """Retrains in a background thread, so the next record never waits for the model.

    After each decision the next record comes from the latest ranking already computed (at
    most one decision behind), and a new training starts on every decision so far. Only rows
    still waiting are reordered; the record on screen never changes under the reviewer.

    Ranking is an aid: when the model cannot rank these records, or its training fails, the
    records keep their order and the reviewer is told once, in the session's message line; a
    decision is never held up or lost for it, and no traceback reaches the screen.

    `build` makes the ranker in the thread too (reading the records' features takes seconds on
    a large review): the screen starts at once, in the order it has, and the ranking applies
    from the first decision after it is ready.
    """

    def __init__(self, ranker=None, build: Callable[[], object] | None = None) -> None:  # noqa: ANN001
        import threading

        self.ranker = ranker
        self.build = build
        # One worker for the session: starting a thread per decision made the key loop wait
        # for the new thread to be scheduled.
        self.lock = threading.Condition()
        self.position = None  # rank position of every row in the latest ranking
        self.applied = None  # the ranking the queue was last put in the order of
        self.thread = None
        self.wanted = None  # (labelled rows, labels) waiting to be trained on
        self.busy = False  # the worker is building or training
        self.failed = ""  # why ranking stopped, once it has
        self.told = False  # the reviewer has seen the notice or the failure

    def __call__(self, session: ScreenSession) -> None:
        """Apply the latest ranking to the queue, then train on the decisions so far."""
        self.apply(session)
        self.request(session)

    def request(self, session: ScreenSession) -> None:
        import threading

        row_of = session.row_of
        # Plain lists: numpy is imported by the thread, never on the way to the next record.
        labelled = [row_of[rid] for rid in session.done]
        y = [int(d.includes) for d in session.done.values()]
        with self.lock:
            if self.failed:
                return
            self.wanted = (labelled, y)  # the worker takes the newest request when it is free
            self.lock.notify_all()
            if self.thread is None:
                self.thread = threading.Thread(target=self._work, daemon=True)
                self.thread.start()

    def preparing(self) -> bool:
        """The model is still being built (its features read): the order is the one it had."""
        return self.ranker is None and self.thread is not None and not self.failed

    def _stop(self, exc: Exception) -> None:
        with self.lock:
            self.failed = f"ranking stopped ({type(exc).__name__}: {exc}); the order stays as it is"
            self.busy = False
            self.wanted = None
            self.lock.notify_all()

    def _work(self) -> None:
        import numpy as np

        if self.ranker is None:
            try:
                with self.lock:
                    self.busy = True
                self.ranker = self.build()
            except Exception as exc:  # noqa: BLE001 - see the class docstring
                return self._stop(exc)
        while True:
            with self.lock:
                self.busy = False
                self.lock.notify_all()
                while self.wanted is None:
                    self.lock.wait()
                wanted, self.wanted = self.wanted, None
                self.busy = True
            try:
                self.ranker.fit(np.array(wanted[0], dtype=np.int64), np.array(wanted[1], dtype=int))
            except Exception as exc:  # noqa: BLE001 - see the class docstring
                return self._stop(exc)
            if self.ranker.fitted:
                order = np.argsort(-self.ranker.scores, kind="stable")
                position = np.empty(len(order), dtype=np.int64)
                position[order] = np.arange(len(order))
                self.position = position

    def wait(self) -> None:
        """For tests: until every request so far is trained on (or ranking stopped)."""
        with self.lock:
            while self.thread is not None and not self.failed and (self.busy or self.wanted is not None):
                self.lock.wait()

    def ranked_ids(self, session: ScreenSession) -> list[str] | None:
        """Every record id in the latest ranking's order (None before the first ranking)."""
        position = self.position
        if position is None:
            return None
        import numpy as np

        return [session.records[k].id for k in np.argsort(position, kind="stable")]

    def apply(self, session: ScreenSession) -> None:
        notice = self.failed or (getattr(self.ranker, "notice", "") if self.ranker is not None else "")
        if notice and not self.told:
            self.told = True
            session.message = f"{session.message}; {notice}" if session.message else notice
        position = self.position
        if position is None or not session.queue or position is self.applied:
            return  # nothing new: the queue is in this ranking's order already
        self.applied = position
        import numpy as np

        row_of = session.row_of
        waiting = [rid for rid in session.queue if rid not in session.skipped]
        rows = np.array([row_of[rid] for rid in waiting], dtype=np.int64)
        ordered = [waiting[k] for k in np.argsort(position[rows], kind="stable")]
        skipped = [rid for rid in session.queue if rid in session.skipped]
        session.queue = session.waiting_first(ordered) + skipped


# -- start-up: what the screen needs, from a cache keyed by everything it comes from ------------

# Bump when what the studies cache holds changes shape.
STUDIES_CACHE_VERSION = "3"


def _studies_key(review) -> str | None:  # noqa: ANN001 - Review
    """A hash of everything the deduplicated studies come from: each stored export (its sha256,
    checked against the file: None when it was not verified since it last changed, so the slow
    path verifies it), labels/dedup.csv, review.toml, and the code that computes them."""
    import hashlib

    from .. import __version__
    from ..names import read_regular_bytes
    from ..review import PARSE_CACHE_VERSION

    digest = hashlib.sha256(f"{STUDIES_CACHE_VERSION}|{__version__}|{PARSE_CACHE_VERSION}".encode())
    package = Path(__file__).resolve().parents[1]
    code = sorted((package / "dedup").glob("*.py")) + [
        package / "normalise.py",  # the dedup rules' field keys
        package / "records.py",
        package / "review.py",
        package / "screening" / "__init__.py",
    ]
    for source in code:  # a new dedup rule or record field is a new key, whatever the version says
        digest.update(source.read_bytes())
    for search in review.searches():
        for f in search.files:
            if review._verified_signature(review.raw_file_path(f), f.sha256) is None:
                return None
            digest.update(f"{search.name}|{f.path}|{f.sha256}|{f.format}|{f.records}|{f.round}\0".encode())
    for path in (review.dedup_decisions_path, review.config_path):
        if path.exists() or path.is_symlink():
            digest.update(read_regular_bytes(path))
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def screen_studies(review) -> tuple[list[Record], dict[str, str]]:  # noqa: ANN001 - Review
    """screening.review_studies(review), from the cache when nothing it comes from changed
    (see `screen_studies_lazy`), every abstract in place."""
    studies, member_of, abstracts = screen_studies_lazy(review)
    if abstracts is not None:
        abstracts.fill_all()
    return studies, member_of


def screen_studies_lazy(review) -> tuple[list[Record], dict[str, str], LazyAbstracts | None]:  # noqa: ANN001
    """The deduplicated studies and the map from every record id to its study, as
    screening.review_studies computes them, from a cache when nothing they come from changed.

    Reading, deduplicating and merging 20,000 records takes seconds even with the parse and
    dedup caches; the cached studies load in a fraction of that, and their abstracts (four
    fifths of the bytes) are read when needed: `LazyAbstracts` (None: every abstract is in
    place). The cache can never change a result: its key covers every input and the code, and
    an entry of the wrong shape is rebuilt.
    """
    import hashlib
    import marshal

    from ..importers import gc_paused
    from ..review import _RECORD_FIELDS
    from ..textio import atomic_write_bytes
    from . import review_studies

    key = _studies_key(review)
    path = review.cache_dir / "studies" / f"{key}.marshal" if key else None
    at = _RECORD_FIELDS.index("abstract")
    if path is not None and path.exists():
        try:
            with gc_paused():  # 20,000 records: a collection pass per thousand objects made costs seconds
                fields, rows, member_of, stored_key, digest = marshal.loads(path.read_bytes())
                if tuple(fields) != _RECORD_FIELDS:
                    raise ValueError("written by another version")
                if stored_key != key:  # an entry copied or renamed under this key
                    raise ValueError("an entry of other inputs")
                studies = [Record(*row) for row in rows]
            ids = {r.id for r in studies}
            shaped = all(isinstance(r.id, str) and isinstance(r.title, str) for r in studies)
            if not shaped or not isinstance(member_of, dict) or not all(
                isinstance(k, str) and v in ids for k, v in member_of.items()
            ):
                raise ValueError("cache entry of the wrong shape")
            return studies, member_of, LazyAbstracts(path.with_suffix(".abstracts"), studies, digest)
        except Exception:  # noqa: BLE001 - a damaged or planted entry is rebuilt, never trusted
            pass
    studies, member_of = review_studies(review)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with gc_paused():
                rows = [tuple(r.__dict__.values()) for r in studies]
                rows = [row[:at] + ("",) + row[at + 1 :] for row in rows]
                packed = LazyAbstracts.pack(studies)
                digest = hashlib.sha256(packed).hexdigest()
                data = marshal.dumps((_RECORD_FIELDS, rows, member_of, key, digest))
            # The abstracts first: a studies entry is only ever read beside its abstracts.
            atomic_write_bytes(path.with_suffix(".abstracts"), packed, durable=False)
            atomic_write_bytes(path, data, durable=False)
            for stale in sorted(path.parent.glob("*.marshal"), key=lambda f: f.stat().st_mtime)[:-3]:
                stale.unlink(missing_ok=True)  # keep the few latest
                stale.with_suffix(".abstracts").unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache: slower, never wrong
    return studies, member_of, None


class LazyAbstracts:
    """The abstracts of cached studies, read when needed: one record's when it is drawn, every
    one before a search or the ranking reads them (`fill_all`, also run in the background once
    the first record is on screen). The file: 8 bytes giving the length of a marshalled list of
    offsets, that list, then every abstract in UTF-8, one after the other."""

    def __init__(self, path: Path, records: list[Record], digest: str = "") -> None:
        import marshal
        import os
        import threading

        self.path = path
        self.digest = digest  # sha256 of the whole file, checked when every abstract is read
        self.records = records
        self.lock = threading.Lock()
        self.filled = False
        # Kept open for the session: opening a file costs milliseconds on some file systems.
        self.handle = path.open("rb")
        size = int.from_bytes(self.handle.read(8), "little")
        self.offsets = marshal.loads(self.handle.read(size))
        self.start = 8 + size
        if not isinstance(self.offsets, list) or len(self.offsets) != len(records) + 1:
            raise ValueError("abstracts of another entry")
        if os.fstat(self.handle.fileno()).st_size != self.start + self.offsets[-1]:
            raise ValueError("abstracts cut short or grown")  # rebuilt before the screen opens
        self.index = {r.id: k for k, r in enumerate(records)}
        self.loaded: set[str] = set()

    @staticmethod
    def pack(records: list[Record]) -> bytes:
        import marshal

        blobs = [r.abstract.encode("utf-8", "surrogatepass") for r in records]
        offsets = [0]
        for blob in blobs:
            offsets.append(offsets[-1] + len(blob))
        header = marshal.dumps(offsets)
        return len(header).to_bytes(8, "little") + header + b"".join(blobs)

    def ensure(self, record: Record) -> None:
        """This record's abstract in place (a read of its bytes alone)."""
        if self.filled or record.id in self.loaded:
            return
        k = self.index.get(record.id)
        if k is None:
            return
        import os

        length = self.offsets[k + 1] - self.offsets[k]
        data = os.pread(self.handle.fileno(), length, self.start + self.offsets[k])
        if len(data) != length:
            raise self._changed()
        try:
            record.abstract = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise self._changed() from None
        self.loaded.add(record.id)

    def _changed(self) -> ScreenerError:
        # The entry goes, so the next start rebuilds it instead of meeting it again.
        for stale in (self.path, self.path.with_suffix(".marshal")):
            try:
                stale.unlink(missing_ok=True)
            except OSError:
                pass
        return ScreenerError(
            "changed or was damaged while the screen was reading it",
            path=self.path,
            hint="start the screen again (your decisions are all saved); the cache is rebuilt",
        )

    def fill_in_background(self) -> None:
        """fill_all for a background thread: a failure is left for the next reader to report
        (in one line), never a traceback on the reviewer's screen."""
        try:
            self.fill_all()
        except Exception:  # noqa: BLE001, S110 - ensure() or find() meets it and says what it is
            pass

    def fill_all(self) -> None:
        """Every abstract in place (once; later calls return at once)."""
        import os

        with self.lock:
            if self.filled:
                return
            blob = os.pread(self.handle.fileno(), self.offsets[-1] + 1, self.start)
            if len(blob) != self.offsets[-1]:
                raise self._changed()
            if self.digest:
                import hashlib

                whole = os.pread(self.handle.fileno(), self.start, 0) + blob
                if hashlib.sha256(whole).hexdigest() != self.digest:
                    raise self._changed()
            offsets = self.offsets
            try:
                for k, record in enumerate(self.records):
                    record.abstract = blob[offsets[k] : offsets[k + 1]].decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                raise self._changed() from None
            self.filled = True


def _order_path(review, session: ScreenSession, reviewer: str, settings: str) -> Path:  # noqa: ANN001
    """Where the ranking a session ended with is kept: keyed by the reviewer's decision file as
    it is, the records in their order and the ranking settings, so it is only ever used for
    exactly the decisions it was trained on."""
    import hashlib

    from .. import __version__

    digest = hashlib.sha256(f"{__version__}|{reviewer}|{session.stage}|{settings}".encode())
    for record in session.records:
        digest.update(record.id.encode("utf-8", "surrogateescape") + b"\0")
    if session.log.path.exists():
        from ..names import read_regular_bytes

        digest.update(read_regular_bytes(session.log.path))
    return review.cache_dir / "screen-order" / f"{digest.hexdigest()[:32]}.marshal"


def load_saved_order(review, session: ScreenSession, reviewer: str, settings: str) -> bool:  # noqa: ANN001
    """Put the queue in the order the last session's ranking left it, when the decisions have
    not changed since (else nothing changes). Returns whether it did."""
    import marshal

    path = _order_path(review, session, reviewer, settings)
    try:
        ids = marshal.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - none yet, or damaged: the order stays
        return False
    if not isinstance(ids, list) or sorted(ids) != sorted(session.by_id):
        return False
    rank = {rid: k for k, rid in enumerate(ids)}
    session.queue.sort(key=rank.__getitem__)
    return True


def save_order(review, session: ScreenSession, reviewer: str, settings: str, ids: list[str] | None) -> None:  # noqa: ANN001, E501
    import marshal

    from ..textio import atomic_write_bytes

    if ids is None:
        return
    path = _order_path(review, session, reviewer, settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, marshal.dumps(list(ids)), durable=False)
        for stale in sorted(path.parent.glob("*.marshal"), key=lambda f: f.stat().st_mtime)[:-8]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


def still_need_vote(view, reviewer: str) -> set[str] | None:  # noqa: ANN001 - StageView
    """The records still waiting for votes that this screener's vote counts for (not final, in
    no conflict; with an allocation, of their share): the session leaves out what they decided,
    as status does. None for anyone else."""
    if reviewer not in view.screeners or reviewer in view.inactive:
        return None
    voting = view.voting()
    allocation = getattr(view, "allocation", None)
    if allocation is not None:
        voting &= set(allocation.share(reviewer))
    return voting


# The longest highlighting may take on one text: review.toml refuses the patterns that
# backtrack exponentially (schema.regex_hazard), but `.*a.*b` is still cubic in the text's length.
HIGHLIGHT_SECONDS = 0.25


class _HighlightTimeout(Exception):
    pass


def highlighter(include: list[str], exclude: list[str], seconds: float = HIGHLIGHT_SECONDS) -> Callable:
    """A function that styles a rich Text: include terms green, exclude terms red. A text that
    takes longer than `seconds` keeps the highlights found so far: the screen never hangs on
    a pattern (on the main thread, where a timer signal can interrupt the search)."""
    inc = [re.compile(p, re.IGNORECASE) for p in include]
    exc = [re.compile(p, re.IGNORECASE) for p in exclude]

    def highlight_all(text) -> None:  # noqa: ANN001 - rich.text.Text
        for pattern in inc:
            text.highlight_regex(pattern, "bold green")
        for pattern in exc:
            text.highlight_regex(pattern, "bold red")

    def apply(text) -> None:  # noqa: ANN001 - rich.text.Text
        import signal
        import threading

        if not (inc or exc):
            return
        if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            highlight_all(text)
            return

        armed = [True]  # a signal arriving once the search is over must not raise

        def expire(signum: int, frame: object) -> None:
            if armed[0]:
                raise _HighlightTimeout

        previous = signal.signal(signal.SIGALRM, expire)
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            highlight_all(text)
            armed[0] = False
        except _HighlightTimeout:
            pass  # shown with the highlights found so far
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return apply


def _cut(text: str, width: int) -> str:
    """One line of at most `width` cells, an ellipsis where it was cut."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(0, width - 1)) + "…"


def _wrapped(text, console, width: int) -> list:  # noqa: ANN001
    """A rich Text as the lines it takes at `width` (no line ever wider)."""
    return list(text.wrap(console, max(width, 1), overflow="fold"))


def footer(session: ScreenSession, width: int) -> str:
    """The key list on one line of `width`, never wrapped: every key with its word when that
    fits, else the less used keys go first (? lists them all), then the words shorten."""
    keys = [(k, w) for k, w, _ in KEYS[session.stage] if k != "space" and (k != "m" or session.allow_maybe)]
    if session.revisit is not None:
        keys = [(k, w) for k, w in keys if k in "iemr"] + [("esc", "back"), ("?", "help")]
    elif session.current is None:
        keys = [(k, w) for k, w in keys if k in ("u", "h", "/", "?", "q")]
    for form in (lambda k, w: f"{k} {w}", lambda k, w: f"{k} {w.split()[0][:5]}"):
        for drop in ("", "o", "os", "ost", "osth", "osth/", "osth/n"):
            line = "  ".join(form(k, w) for k, w in keys if k not in drop)
            if len(line) <= width:
                return line
    return _cut(" ".join(k for k, _ in keys), width)


def screen_lines(session: ScreenSession, console, highlight: Callable, width: int, height: int) -> list:  # noqa: ANN001
    """The screen as lines (rich Texts), none wider than `width`, at most `height` of them:
    progress, the stopping rule, title, year · journal · id and authors at the top, always; the
    abstract in the lines left, from `session.scroll` (a mark says what is above or below);
    then notes, the message and the keys. The abstract scrolls; nothing else moves."""
    from rich.text import Text

    top: list = []
    bottom: list = []
    total = len(session.records)
    counts = f" {session.screened}/{total} screened, {session.included} included"
    need = session.still_need_vote
    if need is not None:
        counts += f" · {need} still need your vote"
    if session.matches is not None:
        counts += f" · search {session.search!r}: {session.matches_waiting()} left"
    preparing = getattr(session.rerank, "preparing", None)
    session._shown_preparing = preparing is not None and preparing()
    if session._shown_preparing:
        counts += " · ranking: reading the records"
    counts = _cut(counts, width)
    bar_width = max(0, width - len(counts) - 1)
    filled = round(bar_width * session.screened / total) if total else bar_width
    top.append(Text.assemble(("━" * filled, "green"), ("━" * (bar_width - filled), "grey37"), counts))
    estimate = session.shown_estimate()
    if estimate is not None:
        style = "bold green" if estimate.safe_to_stop else "dim"
        said = estimate.describe()
        if session.stopping is not None and session.stopping.behind():
            said = "(updating) " + said
        top.extend(_wrapped(Text(said, style=style), console, width)[:2])
    elif session.stopping is not None and session.stopping_labels() is not None:
        said = session.stopping.failed or "the stopping rule: computing..."
        top.append(Text(_cut(said, width), style="dim"))
    record = session.current
    if record is None:
        left = session.matches_waiting()
        if session.matches is not None and not left:
            body = f"No record left that matches {session.search!r}. / then Enter: the full queue."
        else:
            where = session.scope or f"the {session.stage} stage"
            every = (
                f"The 1 record of {where} is screened."
                if total == 1
                else f"All {total} records of {where} are screened."
            )
            body = f"{every} q to quit, u to undo, h history."
        top.extend(_wrapped(Text(body, style="bold"), console, width))
        abstract: list = []
    else:
        if session.revisit is not None:
            was = session.done.get(record.id)
            banner = f"CHANGING your decision ({was.decision if was else 'undecided'}"
            banner += f", {was.timestamp[:16].replace('T', ' ')})" if was else ")"
            top.append(Text(_cut(banner, width), style="bold reverse yellow"))
        title = Text(record.title or "(no title)", style="bold")
        highlight(title)
        title_lines = _wrapped(title, console, width)
        if len(title_lines) > 3:
            title_lines = title_lines[:3]
            title_lines[-1] = title_lines[-1][: max(0, width - 1)] + Text("…", style="bold")
        top.extend(title_lines)
        # The id is whole whatever the width (it is what a person copies); the journal gives way.
        year = str(record.year or "")
        journal = record.journal or record.journal_abbrev
        room = width - len(record.id) - len(" · ") - (len(year) + 3 if year else 0)
        parts = [p for p in (year, _cut(journal, room) if journal and room > 4 else "", record.id) if p]
        top.append(Text(" · ".join(parts), style="dim"))
        authors = "; ".join(record.authors[:30]) + (" et al." if len(record.authors) > 30 else "")
        top.append(Text(_cut(authors or "(no authors)", width), style="italic"))
        if session.abstracts is not None:
            session.abstracts.ensure(record)
        if session._wrapped is None or session._wrapped[0] != (record.id, width):
            text = session.report_text(record.id) if session.report_text is not None else None
            lines = _wrapped(_abstract_text(record, highlight, text), console, width)
            session._wrapped = ((record.id, width), lines)
        abstract = session._wrapped[1]
        if record.id in session.context:
            # What the resolver decides on (each screener's decision, note and tags): up to a
            # quarter of the screen, the abstract scrolls in what is left.
            said = _wrapped(Text(session.context[record.id], style="magenta"), console, width)
            room = max(3, height // 4)
            if len(said) > room:
                said = [*said[: room - 1], Text(_cut(said[room - 1].plain, width - 1) + "…", style="magenta")]
            bottom.extend(said)
    pending = []
    if session.pending_note:
        pending.append(f"note: {session.pending_note}")
    if session.pending_tags:
        pending.append(f"tags: {session.pending_tags}")
    if pending:
        said = " · ".join(pending) + " (saved with your next decision)"
        bottom.append(Text(_cut(said, width), style="yellow"))
    if session.message:
        bottom.extend(_wrapped(Text(session.message, style="cyan"), console, width)[:2])
    bottom.append(Text(footer(session, width), style="bold"))
    if record is None:
        return (top + bottom)[:height]
    # The abstract gets what is left, between two rules that say where it goes on.
    room = max(1, height - len(top) - len(bottom) - 2)
    if session.scroll_of != record.id:
        session.scroll_of, session.scroll = record.id, 0
    session.scroll = max(0, min(session.scroll, max(0, len(abstract) - room)))
    session.page_size = room
    shown = abstract[session.scroll : session.scroll + room]
    below = len(abstract) - session.scroll - len(shown)
    above = f"▲ {plural(session.scroll, 'line')} above (PgUp, k) " if session.scroll else ""
    rule_top = Text(_cut(("─── " + above).ljust(width, "─"), width), style="grey50")
    mark = f"▼ more below: {plural(below, 'line')} (space, PgDn, j) " if below else ""
    mark = mark or ("end of abstract " if abstract else "")
    rule_bottom = Text(_cut(("─── " + mark).ljust(width, "─"), width), style="bold" if below else "grey50")
    return (top + [rule_top] + shown + [rule_bottom] + bottom)[:height]


def _abstract_text(record: Record, highlight: Callable, report: str | None = None):  # noqa: ANN202 - rich.text.Text
    from rich.text import Text

    abstract = Text(report if report is not None else record.abstract or "(no abstract)")
    highlight(abstract)
    return abstract


def render(session: ScreenSession, console, highlight: Callable) -> None:  # noqa: ANN001
    """Draw the screen to fit the terminal as it is now (the help is show_help's): the last line
    is written without a newline, so nothing scrolls off the top."""
    width, height = console.size
    draw(console, screen_lines(session, console, highlight, width, height)[:height])


def draw(console, lines: list) -> None:  # noqa: ANN001
    """Clear the terminal and write the lines, in one write: rich's print measures, wraps and
    asks the terminal whether it is one on every call, a third of a keystroke's time; the
    lines are already cut to the width, so their styled segments go out as they are."""
    from rich.segment import Segment

    segments: list = []
    for n, line in enumerate(lines):
        # render() gives the spans' styles; the line's own style goes under them, as print does.
        style = console.get_style(line.style) if line.style else None
        segments.extend(Segment.apply_style(line.render(console, end=""), style))
        if n < len(lines) - 1:
            segments.append(Segment.line())
    try:
        text = console._render_buffer(segments)  # rich's own segments-to-terminal step
    except AttributeError:  # a rich without it: the slower public way
        from rich.text import Text

        console.clear()
        screen = Text("\n").join(lines)
        screen.no_wrap, screen.overflow = True, "crop"
        console.print(screen, end="", highlight=False, soft_wrap=False)
        return
    console.file.write(("\x1b[H\x1b[2J" if console.is_terminal else "") + text)
    console.file.flush()


def help_lines(session: ScreenSession, console, width: int) -> list:  # noqa: ANN001
    """What `?` says: each key, what the decisions mean at this stage, where they are saved,
    and what the stopping rule says now."""
    from rich.text import Text

    out: list = [Text(f"Keys ({session.stage})", style="bold")]
    for key, _, meaning in KEYS[session.stage]:
        if key == "m" and not session.allow_maybe:
            meaning = "(a resolver answers include or exclude; maybe settles nothing)"
        wrapped = _wrapped(Text(meaning), console, max(20, width - 8))  # a hanging indent
        out.append(Text.assemble((f"{key:>6}  ", "bold"), wrapped[0]))
        out.extend(Text.assemble(" " * 8, line) for line in wrapped[1:])
    out.append(Text(""))
    out.append(Text("What the decisions mean", style="bold"))
    out.extend(_wrapped(Text(" ".join(MEANING[session.stage])), console, width))
    out.append(Text(""))
    out.append(Text("Where they are saved", style="bold"))
    out.extend(
        _wrapped(
            Text(
                f"{session.log.path} - one line per decision, appended and fsynced before the next "
                "record shows; a change or an undo adds a line, nothing is rewritten."
            ),
            console,
            width,
        )
    )
    out.append(Text(""))
    out.append(Text("The stopping rule", style="bold"))
    estimate = session.shown_estimate()
    if estimate is not None:
        out.extend(_wrapped(Text(estimate.describe()), console, width))
        out.extend(
            _wrapped(
                Text(
                    "In ranked order the rule reads where relevant records came up: it bounds those still "
                    "unscreened by the largest of a fading rate of discovery fitted to your decisions and "
                    "shares of two recent rates (the slowest recent rate, the last quarter's), and says "
                    "stop when the records found are 95% of those found plus that bound (chosen on "
                    "simulated reviews; it cannot promise it)."
                    + (
                        " Each round of the review is judged on its own records: an update's were "
                        "never in the ranking the earlier rounds' curve comes from."
                        if session.round_of
                        else ""
                    )
                    if estimate.expected is not None
                    else "In random order every record screened is a random sample: the rule says when "
                    "recall is at least the target with 95% confidence."
                ),
                console,
                width,
            )
        )
    elif session.stopping_labels() is not None:
        out.append(Text("Being computed; ? again in a moment shows it."))
    else:
        out.extend(
            _wrapped(
                Text(
                    "Not estimated here: the rule needs title-abstract screening in ranked or random "
                    f"order (this is {session.stage}, order {session.order})."
                ),
                console,
                width,
            )
        )
    return out


def _short(path: Path) -> str:
    """labels/<stage>/<reviewer>.csv, as the review names it."""
    return "/".join(path.parts[-3:])


def history_lines(session: ScreenSession, entries: list[Decision], cursor: int, top: int, width: int, height: int):  # noqa: ANN001, ANN201, E501
    """The history view: one decision per line, newest first, the chosen one marked; ids whole."""
    from rich.text import Text

    said = f"Your {plural(len(entries), 'decision')} at {session.stage}, newest first "
    said += f"({_short(session.log.path)})"
    head = Text(_cut(said, width), style="bold")
    rows = []
    for k in range(top, min(len(entries), top + max(1, height - 3))):
        entry = entries[k]
        record = session.by_id[entry.record_id]
        when = entry.timestamp[:16].replace("T", " ")
        what = entry.decision + (f" ({entry.reason})" if entry.reason else "")
        start = f"{'>' if k == cursor else ' '} {when}  {what:<8} {entry.record_id}  "
        line = Text(_cut(start + (record.title or "(no title)"), max(width, len(start))))
        if k == cursor:
            line.stylize("reverse")
        rows.append(line)
    if not entries:
        rows.append(Text("You have no decision at this stage yet."))
    keys = Text(_cut("↑↓/j k move   PgUp PgDn   Enter open (to change)   esc/h back", width), style="bold")
    return [head, Text("")] + rows + [keys]


SCROLL_DOWN = (" ", "pgdn", "j", "down")
SCROLL_UP = ("pgup", "k", "up")


def run_terminal(
    session: ScreenSession,
    console,  # noqa: ANN001
    highlight: Callable,
    getchar: Callable[[], str],
    prompt: Callable[[str], str],
    launch: Callable[[str], object] | None = None,
) -> None:
    """The key loop. Returns when the reviewer quits. `getchar` returns one key: a character,
    or a name (pgdn, pgup, up, down, enter, esc) for keys that send a sequence."""
    quit_asked = False  # q pressed once with a note not yet saved
    first = True
    while True:
        render(session, console, highlight)
        if first and session.on_first_draw is not None:
            session.on_first_draw()
        first = False
        key = getchar()
        if len(key) == 1:
            key = key.lower()
        if key in ("resize", ""):
            continue
        if key not in ("i", "m", "e", "r"):
            session.confirming = None  # a vote reopening a final record takes the key twice in a row
        if key == "?" and show_help(session, console, getchar) != "q":
            continue
        if key in ("q", "?"):  # q, also from the help
            if (session.pending_note or session.pending_tags) and not quit_asked:
                # A typed note lives only until the next decision: never drop it without asking.
                what = "note" if session.pending_note else "tags"
                session.message = f"your {what} is not saved yet: decide to keep it, or q again to drop it"
                quit_asked = True
                continue
            # The key list is drawn without a newline (nothing scrolls): end its line, so what
            # the command prints next starts on a line of its own.
            console.line()
            return
        quit_asked = False
        if key in SCROLL_DOWN or key in SCROLL_UP:
            step = 1 if key in ("j", "k", "up", "down") else max(1, session.page_size - 1)
            session.scroll += step if key in SCROLL_DOWN else -step
            session.scroll = max(0, session.scroll)
            continue
        if key == "u":
            session.undo()
            continue
        if key in ("h", "/") and (session.pending_note or session.pending_tags):
            session.message = "decide on this record first (your note and tags go with it), then h or /"
            continue
        if key == "h":
            chosen = show_history(session, console, getchar)
            if chosen is not None:
                session.open_decided(chosen)
            continue
        if key == "/":
            session.find(prompt("Search title, abstract, authors (Enter alone: the full queue)"))
            continue
        if key == "esc" and session.revisit is not None:
            session.skip()
            continue
        if key in ("esc", "enter"):
            continue
        record = session.current
        if record is None:
            session.message = "nothing to decide here: u undo, h history, / search, q quit"
            continue
        pdf = session.report_file(record.id) if key == "o" and session.report_file is not None else ""
        if pdf:
            if launch is not None and can_open_links():
                launch(pdf)
                session.message = f"opened {pdf}"
            else:
                session.message = f"PDF: {pdf}"
        elif key == "o":
            link = record_link(record)
            if not link:
                session.message = f"{record.id} has no PMID, DOI or web address"
            elif launch is not None and can_open_links():
                launch(link)
                session.message = f"opened {link}"
            else:
                session.message = f"link: {link}"
        elif key == "i":
            session.decide("include")
        elif key == "m":
            if session.allow_maybe:
                session.decide("maybe")
            else:
                session.message = "a resolver decides include or exclude; maybe settles nothing"
        elif key == "s":
            if (session.pending_note or session.pending_tags) and session.revisit is None:
                session.message = "decide on this record first: your note and tags go with its decision"
                continue
            session.skip()
        elif key == "n":
            session.pending_note = prompt("Note").strip()
            session.message = "note kept for the next decision" if session.pending_note else ""
        elif key == "t":
            if not session.log.takes_tags():
                session.message = (
                    f"{session.log.path.name} was written before decision files had a tags column: "
                    "put tags in the note (n), or add ',tags' to the end of its first line"
                )
                continue
            from .decisions import normalise_tags

            session.pending_tags = normalise_tags(prompt("Tags (comma-separated)"))
            session.message = "tags kept for the next decision" if session.pending_tags else ""
        elif key == "r" and session.stage == "full-text":
            session.decide("not-retrieved")
        elif key == "e":
            if session.stage == "full-text":
                choice = choose_reason(session, console, getchar)
                if choice:
                    session.decide("exclude", choice)
                else:
                    session.message = "exclusion cancelled"
            else:
                session.decide("exclude")
        else:
            session.message = f"unknown key {key!r}: ? explains the keys"


def choose_reason(session: ScreenSession, console, getchar: Callable[[], str]) -> str:  # noqa: ANN001
    from rich.text import Text

    width, height = console.size
    lines = [Text("Reason for exclusion:", style="bold")]
    lines += [Text(_cut(f"  {n}  {reason}", width)) for n, reason in enumerate(session.reasons, start=1)]
    lines.append(Text("  (any other key: back)"))
    draw(console, lines[:height])
    choice = getchar()
    if choice.isdigit() and 1 <= int(choice) <= len(session.reasons):
        return session.reasons[int(choice) - 1]
    return ""


def show_help(session: ScreenSession, console, getchar: Callable[[], str]) -> str:  # noqa: ANN001
    """The help, scrolled like the abstract; any other key goes back (returned: q quits)."""
    from rich.text import Text

    top = 0
    while True:
        width, height = console.size
        lines = help_lines(session, console, width)
        room = max(1, height - 1)
        top = max(0, min(top, len(lines) - room))
        more = len(lines) - top - room
        keys = ("space/PgDn more, " if more > 0 else "") + ("PgUp back up, " if top else "")
        keys += "q quit, any other key: back to screening"
        draw(console, lines[top : top + room] + [Text(_cut(keys, width), style="bold")])
        key = getchar()
        if key == "resize":
            continue
        if key in SCROLL_DOWN:
            top += room - 1 if key in (" ", "pgdn") else 1
        elif key in SCROLL_UP:
            top -= room - 1 if key == "pgup" else 1
        else:
            return key.lower()


def show_history(session: ScreenSession, console, getchar: Callable[[], str]) -> str | None:  # noqa: ANN001
    """The reviewer's decisions, newest first; returns the record chosen (Enter), or None."""
    entries = session.decided_newest_first()
    cursor = top = 0
    while True:
        width, height = console.size
        room = max(1, height - 3)
        cursor = max(0, min(cursor, len(entries) - 1))
        top = min(max(top, cursor - room + 1), cursor)
        draw(console, history_lines(session, entries, cursor, top, width, height))
        key = getchar()
        if key in ("down", "j"):
            cursor += 1
        elif key in ("up", "k"):
            cursor -= 1
        elif key in ("pgdn", " "):
            cursor += room
        elif key == "pgup":
            cursor -= room
        elif key in ("enter", "o") and entries:
            return entries[cursor].record_id
        elif key in ("esc", "h", "q", "s"):
            return None

# Escape sequences of the keys the screen uses (xterm and its kin).
SEQUENCES = {
    "\x1b[5~": "pgup",
    "\x1b[6~": "pgdn",
    "\x1b[A": "up",
    "\x1b[B": "down",
    "\x1bOA": "up",
    "\x1bOB": "down",
    "\x1b": "esc",
    "\r": "enter",
    "\n": "enter",
}


def key_name(typed: str) -> str:
    """A key as the loops know it: the character, or a name for a sequence (pgdn, up, enter)."""
    return SEQUENCES.get(typed, typed if not typed.startswith("\x1b") else "")


class _Resized(Exception):
    """The terminal changed size while a key was awaited: draw again."""


class KeyReader:
    """Single keystrokes from the terminal, without losing keys typed ahead.

    click.getchar switches the terminal to raw mode for each key and discards what was typed
    meanwhile (TCSAFLUSH); a fast reviewer would lose decisions. Here the terminal stays in
    cbreak mode for the whole session and is switched back only for line prompts. A change of
    the terminal's size (SIGWINCH) while waiting for a key returns "resize", so the screen is
    drawn again at the new size.
    """

    def __init__(self) -> None:
        import sys

        self.stream = sys.stdin
        self.fd = self.stream.fileno() if self.stream.isatty() else None
        self.saved = None
        self.waiting = False
        self.old_handler = None
        # Asked while no key comes: something changed that the screen should show (draw again).
        self.news: Callable[[], bool] | None = None

    def __enter__(self) -> KeyReader:
        if self.fd is not None:
            import signal
            import termios
            import threading
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd, termios.TCSANOW)
            if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGWINCH"):
                self.old_handler = signal.signal(signal.SIGWINCH, self._resized)
        return self

    def _resized(self, signum: int, frame: object) -> None:
        if self.waiting:
            raise _Resized

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None and self.saved is not None:
            import signal
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            if self.old_handler is not None:
                signal.signal(signal.SIGWINCH, self.old_handler)

    def getchar(self) -> str:
        if self.fd is None:
            char = self.stream.read(1)
            return key_name(char) if char else "q"  # end of input: quit
        self.waiting = True
        try:
            data = self._read()
        except _Resized:
            return "resize"
        finally:
            self.waiting = False
        return data

    def _read(self) -> str:
        import os
        import select

        while self.news is not None and not select.select([self.fd], [], [], 0.1)[0]:
            if self.news():
                return "resize"
        data = os.read(self.fd, 1)
        if not data:
            return "q"
        if data == b"\x1b":  # a key that sends a sequence, or Esc alone
            while len(data) < 8 and select.select([self.fd], [], [], 0.03)[0]:
                data += os.read(self.fd, 1)
                if data[-1:].isalpha() or data.endswith(b"~"):
                    break
            return key_name(data.decode("utf-8", "replace"))
        while True:  # a multi-byte UTF-8 character
            try:
                return key_name(data.decode("utf-8"))
            except UnicodeDecodeError:
                if len(data) >= 4:
                    return ""
                data += os.read(self.fd, 1)

    def prompt(self, text: str) -> str:
        """A line of text, typed in the terminal's normal mode, on the bottom line."""
        import sys

        sys.stdout.write("\r\x1b[2K")  # over the key list: nothing scrolls before Enter
        sys.stdout.flush()
        if self.fd is not None and self.saved is not None:
            import termios
            import tty

            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
            try:
                return input(f"{text}: ")
            except EOFError:
                return ""
            finally:
                tty.setcbreak(self.fd, termios.TCSANOW)
        return input(f"{text}: ")
