"""The value specs: one value's type and rule each (text, a choice, numbers, votes, dates,
a sha256). `check` returns the value normalised (a TOML date becomes its ISO text) or raises
a ScreenerError naming the key and what to write instead."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ScreenerError
from ..records import safe_text
from .context import Context
from .describe import control_character, found, key_text, shown
from .vocab import STAGES


def _is_day(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_timestamp(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2})?)?", text):
        return False
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


class Spec:
    """One value's type and rule. `check` returns the value normalised or raises."""

    kind = "a value"  # what the value must be, for messages
    example = '"..."'  # how to write one, for hints

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        raise NotImplementedError

    def wrong_type(self, value: Any, key: str, ctx: Context) -> ScreenerError:
        leaf = key.rsplit(".", 1)[-1]
        example = self.example if leaf.endswith("]") else f"{leaf} = {self.example}"
        return ctx.error(key, f"is {found(value)}; it must be {self.kind}", f"e.g. {example}")


class Text(Spec):
    """A string; free text may hold line breaks and tabs, never other control characters (a
    terminal escape in a title would act on the screen of whoever runs `status`)."""

    kind = "a string"

    def __init__(
        self, multiline: bool = True, nonempty: bool = False, example: str = '"..."', controls: bool = False
    ) -> None:
        self.multiline, self.nonempty, self.example = multiline, nonempty, example
        self.controls = controls  # any character at all: a record of a name, never printed

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        bad = None if self.controls else control_character(value, "\t\n\r" if self.multiline else "")
        if bad:
            what = "a line break" if bad in ("U+000A", "U+000D") else f"the control character {bad}"
            raise ctx.error(key, f"{shown(value)} holds {what}", "remove it; it would garble the screen")
        if self.nonempty and not value.strip():
            raise ctx.error(key, f"is empty ({shown(value)})", "write the text, or remove the entry")
        if self.nonempty and value != value.strip():
            raise ctx.error(
                key, f"{shown(value)} starts or ends with a space", "remove the spaces: they cannot be seen"
            )
        # Bidi controls (no Cc, so not refused above) are cleaned like record fields: a title
        # reaches terminals, the report and exports.
        return value if self.controls else safe_text(value)


class Choice(Spec):
    """One of a few strings; `values` may be a function, for lists that live in slow modules."""

    kind = "a string"

    def __init__(self, values: Sequence[str] | Callable[[], Sequence[str]], why: str = "") -> None:
        self._values, self.why = values, why

    @property
    def values(self) -> Sequence[str]:
        return self._values() if callable(self._values) else self._values

    @property
    def example(self) -> str:  # type: ignore[override]
        return f'"{self.values[0]}"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        values = self.values
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if value not in values:
            close = difflib.get_close_matches(value, values, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            hint += "one of: " + ", ".join(values) + (f"; {self.why}" if self.why else "")
            raise ctx.error(key, f"is {found(value)}, which is not one of the allowed values", hint)
        return value


class Integer(Spec):
    """A whole number, at least `minimum` (TOML's true/false are not numbers here)."""

    def __init__(self, minimum: int = 0, why: str = "") -> None:
        self.minimum = minimum
        self.kind = f"a whole number of at least {minimum}"
        self.example = str(max(minimum, 1))
        self.why = why or f"a count is {minimum} or more"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.error(
                key,
                f"is {found(value)}; it must be {self.kind}",
                f"write the number without quotes; {self.why}",
            )
        if value < self.minimum:
            raise ctx.error(key, f"is {value}; it must be at least {self.minimum}", self.why)
        return value


class Boolean(Spec):
    """true or false (not the strings "true"/"false")."""

    kind = "true or false"
    example = "false"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, bool):
            raise self.wrong_type(value, key, ctx)
        return value


class Votes(Integer):
    """How many agreeing screener decisions make a record final: 1 to 3, for every stage
    (`votes = 2`) or per stage (`votes = { title-abstract = 1, full-text = 2 }`)."""

    PER_STAGE = "{ title-abstract = 1, full-text = 2 }"

    def __init__(self) -> None:
        super().__init__(1, "1 (single screening) to 3; 2 is dual screening")
        self.kind = "a whole number from 1 to 3, or a table of one per stage"
        self.example = "2"

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, dict):
            return self._one(value, key, ctx)
        if not value:
            raise ctx.error(
                key,
                "is an empty table",
                f"give one number per stage, e.g. votes = {self.PER_STAGE}, or remove votes",
            )
        for stage in value:
            if stage not in STAGES:
                close = difflib.get_close_matches(stage.casefold().replace("_", "-"), STAGES, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ctx.error(
                    f"{key}.{key_text(stage)}",
                    "is no stage",
                    f"{hint}the stages are {' and '.join(STAGES)}, e.g. votes = {self.PER_STAGE}",
                )
        return {stage: self._one(number, f"{key}.{stage}", ctx) for stage, number in value.items()}

    def _one(self, value: Any, key: str, ctx: Context) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.error(
                key,
                f"is {found(value)}; it must be a whole number from 1 to 3",
                f"write the number without quotes; {self.why}",
            )
        if not 1 <= value <= 3:
            raise ctx.error(key, f"is {value}; it must be from 1 to 3", self.why)
        return value


class Fraction(Spec):
    """A share of the records, from 0 to 1 (0.1 is 10%); a whole 0 or 1 is accepted too."""

    kind = "a fraction from 0 to 1"
    example = "0.1"

    def __init__(self, why: str) -> None:
        self.why = why

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ctx.error(
                key, f"is {found(value)}; it must be {self.kind}", f"e.g. {self.example}; {self.why}"
            )
        if not 0 <= value <= 1:
            hint = f"a fraction, not a percent: 0.1 is 10%; {self.why}"
            raise ctx.error(key, f"is {value}; it must be from 0 to 1", hint)
        return float(value)


class Date(Spec):
    """A day, "YYYY-MM-DD" (or a bare TOML date), stored as its text; "" when unknown."""

    kind = 'a date "YYYY-MM-DD"'
    example = '"2024-03-01"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if type(value) is dt.date:
            return value.isoformat()
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if value and not _is_day(value):
            raise ctx.error(key, f"is {found(value)}, not a date", "use YYYY-MM-DD, e.g. 2024-03-01")
        return value


class Timestamp(Spec):
    """When something ran: an ISO date or date-time (as screener writes them), or ""."""

    kind = 'an ISO date-time "YYYY-MM-DDTHH:MM:SS+00:00"'
    example = '"2024-03-01T12:00:00+00:00"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if isinstance(value, dt.date):  # a bare TOML date or date-time
            return value.isoformat()
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if value and not _is_timestamp(value):
            raise ctx.error(key, f"is {found(value)}, not a date or date-time", f"use e.g. {self.example}")
        return value


class PubmedDate(Spec):
    """An Entrez date limit: YYYY, YYYY/MM or YYYY/MM/DD (or with '-'), or ""."""

    kind = "a date string"
    example = '"2012/06/15"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        match = re.fullmatch(r"([0-9]{4})(?:[/-]([0-9]{1,2})(?:[/-]([0-9]{1,2}))?)?", value)
        try:
            if value and not match:
                raise ValueError
            if match:
                dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
        except ValueError:
            raise ctx.error(
                key, f"is {found(value)}, not a date", "use YYYY, YYYY/MM or YYYY/MM/DD"
            ) from None
        return value


class Sha256(Spec):
    kind = "64 hexadecimal digits"
    example = '"' + "0" * 64 + '"'

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ctx.error(
                key,
                f"is {found(value)}; it must be {self.kind} (lower case)",
                "it is the raw file's sha256 as screener wrote it: restore this file from git, "
                "or import the export again",
            )
        return value
