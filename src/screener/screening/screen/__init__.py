"""The interactive screen: one record at a time, single keystrokes, every decision on disk
before the next record appears.

`ScreenSession` holds the logic (queue, decisions, undo, notes) and is driven by keys, so it
is testable without a terminal; `run_terminal` draws it with rich and reads keys with click.

The parts: `session` (state and decisions), `keys` (reading a terminal), `studies` (what is shown,
cached), `background` (ranking and stopping off the key path), `draw` (the screen's lines), `run`
(the loop).
"""

from .background import BackgroundRanking, StoppingInBackground
from .draw import (
    HIGHLIGHT_SECONDS,
    can_open_links,
    draw,
    footer,
    help_lines,
    highlighter,
    history_lines,
    record_link,
    render,
    screen_lines,
)
from .keys import SEQUENCES, KeyReader, key_name, require_terminal
from .run import SCROLL_DOWN, SCROLL_UP, choose_reason, run_terminal, show_help, show_history
from .session import KEYS, MEANING, ScreenSession, estimate_for, order_records, still_need_vote
from .studies import (
    STUDIES_CACHE_VERSION,
    LazyAbstracts,
    leave_studies,
    load_saved_order,
    save_apart,
    save_order,
    screen_studies,
    screen_studies_deferred,
    screen_studies_lazy,
    searches_changed,
)

__all__ = [
    "BackgroundRanking",
    "HIGHLIGHT_SECONDS",
    "KEYS",
    "KeyReader",
    "LazyAbstracts",
    "MEANING",
    "SCROLL_DOWN",
    "SCROLL_UP",
    "SEQUENCES",
    "STUDIES_CACHE_VERSION",
    "ScreenSession",
    "StoppingInBackground",
    "can_open_links",
    "choose_reason",
    "draw",
    "estimate_for",
    "footer",
    "help_lines",
    "highlighter",
    "history_lines",
    "key_name",
    "leave_studies",
    "load_saved_order",
    "order_records",
    "record_link",
    "render",
    "require_terminal",
    "run_terminal",
    "save_apart",
    "save_order",
    "screen_lines",
    "screen_studies",
    "screen_studies_deferred",
    "screen_studies_lazy",
    "searches_changed",
    "show_help",
    "show_history",
    "still_need_vote",
]
