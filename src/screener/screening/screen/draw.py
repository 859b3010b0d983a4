"""Drawing the screen: the record's header, abstract with highlighted keywords, footer, help and
history, in the terminal's width and height.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ...records import Record
from ...words import plural
from ..decisions import Decision
from .session import KEYS, MEANING, ScreenSession


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
        search = "/" if session.stage == "title-abstract" else "f"  # `/` finds only in a report
        keys = [(k, w) for k, w in keys if k in ("u", "h", search, "?", "q")]
    for form in (lambda k, w: f"{k} {w}", lambda k, w: f"{k} {w.split()[0][:5]}"):
        for drop in ("", "o", "os", "osf", "osft", "osfth", "osfth/", "osfth/n"):
            line = "  ".join(form(k, w) for k, w in keys if k not in drop)
            if len(line) <= width:
                return line
    return _cut(" ".join(k for k, _ in keys), width)



def screen_lines(session: ScreenSession, console, highlight: Callable, width: int, height: int) -> list:  # noqa: ANN001
    """The screen as lines (rich Texts), none wider than `width`, at most `height` of them:
    progress, the stopping rule, title, year · journal · id and authors at the top, always; the
    abstract in the lines left, from `session.scroll` (a mark says what is above or below);
    then notes, the message and the keys. The abstract scrolls; nothing else moves. Words found
    in a report (`/`) stand out, and the first drawing after a find scrolls to the match."""
    from rich.style import Style
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
    changed = session.searches_changed() if session.searches_changed is not None else None
    session._shown_changed = bool(changed)
    if changed:  # above the stopping line, never green "stop" over records this screen lacks
        top.extend(_wrapped(Text(changed, style="bold yellow"), console, width))
    if estimate is not None:
        style = "bold green" if estimate.safe_to_stop and not changed else "dim"
        said = estimate.describe()
        if session.stopping is not None and session.stopping.behind():
            said = "(updating) " + said
        lines = _wrapped(Text(said, style=style), console, width)
        if len(lines) > 2:  # two lines at most: the rest is in '?' (help), with an ellipsis to say so
            lines = lines[:2]
            lines[-1] = lines[-1][: max(0, width - 1)] + Text("…", style=style)
        top.extend(lines)
    elif session.stopping is not None and session.stopping_applies:
        said = session.stopping.failed or "the stopping rule: computing..."
        top.append(Text(_cut(said, width), style="dim"))
    record = session.current
    report: str | None = None  # the attached report's text, at full text
    if record is None:
        left = session.matches_waiting()
        if session.matches is not None and not left:
            body = f"No record left that matches {session.search!r}. / then Enter: the full queue."
        else:
            where = session.scope or f"the {session.stage} stage"
            if total == 0:
                every = f"There is no record to screen in {where}."
            elif total == 1:
                every = f"The 1 record of {where} is screened."
            else:
                every = f"All {total} records of {where} are screened."
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
        # At full text (the screen has a reader of reports), a record without a file shows its
        # abstract: said in plain sight, so no one decides on an abstract believing it the report.
        report = session.report_text(record.id) if session.report_text is not None else None
        if session.report_text is not None and report is None:
            top.append(Text(_cut(NO_REPORT, width), style="bold yellow"))
        finds = session.found if report is not None and session.found_in == record.id else []
        wrapped_for = (record.id, width, session.finding if finds else "")
        if session._wrapped is None or session._wrapped[0] != wrapped_for:
            text = _abstract_text(record, highlight, report)
            for k, (start, end) in enumerate(finds):  # over the keywords' highlights
                text.stylize(Style(bold=True, reverse=True, meta={FOUND: k}), start, end)
            lines = _wrapped(text, console, width)
            session._wrapped = (wrapped_for, lines, _first_lines(lines) if finds else {})
        abstract = session._wrapped[1]
        if finds and session.goto_found:
            line_of = session._wrapped[2]
            if session.found_at < 0:  # the first match from the top line shown on, else the first
                top_line = session.scroll if session.scroll_of == record.id else 0
                later = [k for k in range(len(finds)) if line_of.get(k, -1) >= top_line]
                session.found_at = later[0] if later else 0
                session.message = session.found_said(again=not later)
            session.scroll_of, session.scroll = record.id, line_of.get(session.found_at, 0)
            session.goto_found = False
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
        # A message can end in a command to run (allocate after an update): give it the lines it
        # needs, up to a fifth of the screen, so the command is whole; cut it visibly beyond that.
        said = _wrapped(Text(session.message, style="cyan"), console, width)
        room = max(2, height // 5)
        if len(said) > room:
            said = [*said[: room - 1], Text(_cut(said[room - 1].plain, width - 1) + "…", style="cyan")]
        bottom.extend(said)
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
    if session.found and session.found_in == record.id and report is not None:
        shown = [_mark_current(line, session.found_at) for line in shown]
    below = len(abstract) - session.scroll - len(shown)
    what = "report " if report is not None else "abstract "
    above = f"▲ {plural(session.scroll, 'line')} above (PgUp, k) " if session.scroll else what
    rule_top = Text(_cut(("─── " + above).ljust(width, "─"), width), style="grey50")
    mark = f"▼ more below: {plural(below, 'line')} (space, PgDn, j) " if below else ""
    mark = mark or (f"end of {what}" if abstract else "")
    rule_bottom = Text(_cut(("─── " + mark).ljust(width, "─"), width), style="bold" if below else "grey50")
    return (top + [rule_top] + shown + [rule_bottom] + bottom)[:height]



NO_REPORT = "no report attached (fulltext attach, or r: not retrieved)"

# The key of a found match's number in its style's meta: the match's spans follow the text into
# the lines it wraps to, so a match's line is known whatever the wrapping did.
FOUND = "screener-found"


def _first_lines(lines: list) -> dict[int, int]:
    """Each found match's number -> the first of the wrapped `lines` it is on."""
    from rich.style import Style

    first: dict[int, int] = {}
    for n, line in enumerate(lines):
        for span in line.spans:
            k = span.style.meta.get(FOUND) if isinstance(span.style, Style) else None
            if k is not None:
                first.setdefault(k, n)
    return first


def _mark_current(line, current: int):  # noqa: ANN001, ANN202 - rich.text.Text
    """The line with the match shown (of those found) stood out from the others."""
    from rich.style import Style

    spans = [s for s in line.spans if isinstance(s.style, Style) and s.style.meta.get(FOUND) == current]
    if not spans:
        return line
    line = line.copy()
    for span in spans:
        line.stylize("bold black on yellow", span.start, span.end)
    return line


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
                    + (
                        " Records that came after screening began (a database imported late, a "
                        "citation chase) are judged on their own too: the ranking never held them."
                        if session.apart
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
    elif session.stopping_applies:
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

