"""How a found value or a key is shown in a one-line message: never deep, never raw control
characters."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any


def shown(text: str, limit: int = 60) -> str:
    """A string as Python writes it (control characters escaped), cut to `limit` characters."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def found(value: object) -> str:
    """What a TOML value is, for 'KEY is ...' messages; never deep (a value may nest 900 levels)."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {shown(value)}"
    if isinstance(value, dt.datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, dt.time):
        return f"the time {value.isoformat()}"
    if isinstance(value, list):
        if not value:
            return "an empty array"
        if len(value) <= 4 and all(isinstance(item, str) for item in value):
            return "the array [" + ", ".join(shown(item, 30) for item in value) + "]"
        return f"an array of {len(value)} value(s)"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def key_text(key: str) -> str:
    """A key as it can be printed: bare when it is a plain TOML key, else quoted and escaped."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else shown(key, 40)


def control_character(text: str, allow: str = "") -> str | None:
    """The first control character of `text` (terminal escapes, NUL...) not in `allow`."""
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in allow:
            return f"U+{ord(char):04X}"
    return None


def each_once(ctx: Any, entries: list[dict], table: str, key: str, hint: str) -> None:  # noqa: ANN401
    """Each entry's `key` once, case folded (one name in two cases is one file on macOS and
    Windows), or ctx's error (context.Context) naming the repeat, the entry it repeats and how
    they differ."""
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        earlier = seen.setdefault(entry[key].casefold(), i)
        if earlier != i:
            other = entries[earlier][key]
            raise ctx.error(
                f"{table}[{i}].{key}",
                f"{shown(entry[key])} is {table}[{earlier}].{key}"
                + (" too" if other == entry[key] else f" {shown(other)} in other case"),
                hint,
            )
