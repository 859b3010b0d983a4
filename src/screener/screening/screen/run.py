"""The screen's loop: draw, read a key, act on the session, until the reviewer quits.
"""

from __future__ import annotations

from collections.abc import Callable

from .draw import _cut, can_open_links, draw, help_lines, history_lines, record_link, render
from .session import ScreenSession

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
        if key == "/" and session.shown_report() is not None:  # finding stays on this record
            session.find_in_report(prompt("Find in this report (Enter alone: the next match)"))
            continue
        if key in ("h", "/", "f") and (session.pending_note or session.pending_tags):
            session.message = f"decide on this record first (your note and tags go with it), then {key}"
            continue
        if key == "h":
            chosen = show_history(session, console, getchar)
            if chosen is not None:
                session.open_decided(chosen)
            continue
        if key in ("/", "f"):  # f: the records' search at full text too, where / finds in a report
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
            from ..decisions import normalise_tags

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
        keys += "q quit screening, any other key: back to screening"
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

