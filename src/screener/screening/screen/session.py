"""The screen's state: the queue of records, decisions, undo, notes, search; driven by keys,
testable without a terminal.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...applog import by_time
from ...records import Record
from ..decisions import Decision, DecisionLog

if TYPE_CHECKING:  # the parts the session holds use it
    from .background import StoppingInBackground
    from .studies import LazyAbstracts


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
        ("/", "search", "search the records by words in title, abstract, authors; screen them (also f)"),
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
        ("/", "find", "find words in the report's text; Enter alone: the next match (no report: as f)"),
        ("f", "search", "search the records by words in title, abstract, authors; screen the matches"),
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
    # A sentence once the review's searches changed on disk since the screen started (a pull):
    # said with the stopping rule's statement, which covers only the records held (studies.py).
    searches_changed: Callable[[], str | None] | None = None
    # Called once the first record is drawn: background work starts then, so that the first
    # drawing does not share the interpreter with numpy's and scikit-learn's imports.
    on_first_draw: Callable[[], None] | None = None
    abstracts: LazyAbstracts | None = None  # abstracts read when needed (a cache's), else all in place
    # After an update: record id -> the round that brought it (absent: round 1); the stopping
    # rule judges each round's records on their own.
    round_of: dict[str, int] = field(default_factory=dict)
    apart: dict[str, str] = field(default_factory=dict)  # StageView.apart: judged as a group of their own
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
    # `/` in a report's text: the words, the record they were found in, each match's (start, end)
    # in the text as drawn and its page, the match shown, and whether the next drawing scrolls to
    # it (the text's lines are known only once it is wrapped at the screen's width). found_at -1:
    # the first match from the line at the top of the screen.
    finding: str = ""
    found_in: str | None = None
    found: list[tuple[int, int]] = field(default_factory=list)
    found_pages: list[int] = field(default_factory=list)
    found_at: int = 0
    goto_found: bool = False

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.records}
        self.row_of = {r.id: k for k, r in enumerate(self.records)}
        if not self.queue:
            self.queue = self.waiting_first([r.id for r in self.records if r.id not in self.done])
        if not self.history:
            # By time (parsed, whatever the UTC offset), ties in file order.
            ordered = by_time(list(self.done.items()), lambda item: item[1].timestamp)
            self.history = [rid for rid, _ in ordered if rid in self.by_id]
        self._haystack: dict[str, str] = {}
        self.changes = 0  # decisions and undos so far: what cached views of `done` are keyed by
        self._rounds: tuple = ()
        self._rounds_for = -1
        self._groups = None  # StoppingGroups, made at the first stopping_input
        self._need: int | None = None
        # The abstract's (or report's) lines, last drawn: (record, width, words found), the
        # lines, and each match found -> its first line.
        self._wrapped: tuple[tuple[str, int, str], list, dict[int, int]] | None = None
        self._shown_preparing = False  # the header said the ranking was being built, last drawn
        self._shown_changed = False  # the notice that the searches changed was drawn

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

    @property
    def stopping_applies(self) -> bool:
        """Whether the stopping rule speaks here: ranked or random order at title-abstract (not in
        file order, not at full text)."""
        return self.order in ("ranked", "random") and self.stage == "title-abstract"

    def stopping_input(self) -> tuple | None:
        """What the stopping rule reads, hashable: per round, (round, this reviewer's decisions
        on its records, 1 relevant, in the order they were made, its records), then whether the
        order is ranked and what the records are (`scope`); None where the rule does not apply."""
        if not self.stopping_applies:
            return None
        if self._rounds_for != self.changes:
            from .. import StoppingGroups, stopping_rounds

            if self._groups is None:  # the records and their rounds are fixed for the session
                self._groups = StoppingGroups.make(self.by_id.keys(), self.round_of, self.apart)
            rounds = stopping_rounds(self.done, (), {}, groups=self._groups)
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
        if self.searches_changed is not None and bool(self.searches_changed()) != self._shown_changed:
            return True  # a pull while the screen waits for a key: said at once, never a stale stop
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
        if entry.clock_note:
            self.message += f"; {entry.clock_note}"
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
        from ..decisions import latest

        entries = [d for d in latest(self.log.read()).values() if d.record_id in self.by_id]
        # By time, then (decisions in one millisecond) in the order latest() gives: the file's.
        return by_time(entries, lambda d: d.timestamp)[::-1]

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
            + f"; {'/' if self.stage == 'title-abstract' else 'f'} then Enter goes back to the full queue"
        )

    def shown_report(self) -> str | None:
        """The report's text on screen (at full text, for a record with a file), else None."""
        record = self.current
        if record is None or self.report_text is None:
            return None
        return self.report_text(record.id)

    def find_in_report(self, words: str) -> None:
        """Find words in the report on screen (case ignored; across line breaks and pages): the
        drawing scrolls to the first match from the top line shown on. No words: the next match,
        after the last the first again (in another record's report: the last words again)."""
        record, text = self.current, self.shown_report()
        assert record is not None and text is not None
        words = " ".join(words.split())
        if not words and self.found and self.found_in == record.id:
            self.found_at = (self.found_at + 1) % len(self.found)
            self.goto_found = True
            self.message = self.found_said(again=self.found_at == 0)
            return
        words = words or self.finding
        if not words:
            self.message = "type the words to find in this report"
            return
        from rich.control import strip_control_codes

        plain = strip_control_codes(text)  # as rich's Text holds it: the offsets are the drawing's
        self.finding, self.found_in = words, record.id
        self.found = [m.span() for m in report_pattern(words).finditer(plain)]
        marks = [(m.start(), int(m.group(1))) for m in PAGE_MARK.finditer(plain)]
        starts = [start for start, _ in marks]
        self.found_pages = [
            marks[k - 1][1] if (k := bisect.bisect_right(starts, start)) else 0 for start, _ in self.found
        ]
        if not self.found:
            self.goto_found = False
            self.message = f"no match for {words!r} in this report"
            return
        self.found_at, self.goto_found = -1, True
        self.message = ""  # said by the drawing, once it knows which match comes first

    def found_said(self, again: bool = False) -> str:
        """`match 2 of 7 (page 3)`: the match shown, of the report's."""
        page = self.found_pages[self.found_at]
        said = f"match {self.found_at + 1} of {len(self.found)}" + (f" (page {page})" if page else "")
        return said + (", from the top again" if again else "") + "; / then Enter: the next"

    def matches_waiting(self) -> int:
        if self.matches is None:
            return len(self.queue)
        return sum(1 for rid in self.queue if rid in self.matches)



# A page mark in a report's text (fulltext.text's with_page_marks).
PAGE_MARK = re.compile(r"^--- page (\d+) of \d+ ---$", re.MULTILINE)


def report_pattern(words: str) -> re.Pattern[str]:
    """The words, case ignored, as the PDF's text may hold them: apart by any white space, a
    line break or a page mark, and each word perhaps hyphenated at a line's end (or where one
    was: the text's reflow joins such a break and keeps the hyphen, as it cannot tell
    "treat-ment" from "well-known")."""
    gap = r"\s+(?:--- page \d+ of \d+ ---\s+)?"
    hyphen = r"(?:-[ \t]*\n?)?"
    return re.compile(gap.join(hyphen.join(map(re.escape, word)) for word in words.split()), re.IGNORECASE)



def estimate_for(wanted: tuple):  # noqa: ANN201 - ranking.stopping.LiveEstimate
    """The stopping rule on ScreenSession.stopping_input()."""
    from ...ranking.stopping import rounds_estimate

    rounds, ranked, scope = wanted
    return rounds_estimate([(n, list(labels), total) for n, labels, total in rounds], ranked, scope)



def still_need_vote(view, reviewer: str) -> set[str] | None:  # noqa: ANN001 - StageView
    """The records still waiting for votes that this screener's vote counts for (not final, in
    no conflict; with an allocation, of their share): the session leaves out what they decided,
    as status does. None for anyone else."""
    return view.votable(reviewer)

