"""The screen's highlight terms: regular expressions of the kind that cannot take hours to
search a text."""

from __future__ import annotations

import re
from typing import Any

from .context import Context
from .describe import shown
from .specs import Text


class Regex(Text):
    """A regular expression (the screen's highlight terms), of the kind that cannot take hours
    to search a text: see `regex_hazard`."""

    def __init__(self) -> None:
        super().__init__(multiline=False, example='"liver metasta\\\\w*"')

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        super().check(value, key, ctx)
        try:
            re.compile(value)
        except re.error as exc:
            raise ctx.error(
                key, f"{shown(value)} is not a valid regular expression ({exc})", "fix or remove the term"
            ) from None
        hazard = regex_hazard(value)
        if hazard:
            raise ctx.error(
                key,
                f"{shown(value)} {hazard}, which can take hours to search one abstract",
                'repeat single characters only (e.g. "metasta\\\\w*"), or list each keyword as a term',
            )
        return value


def regex_hazard(pattern: str) -> str | None:
    """Why searching with `pattern` could backtrack exponentially, or None: a repetition of
    anything but one character (`(a+)+`, `(a|aa)*`, `(ab){2,}`) or a back-reference. What is
    left costs at most a power of the text's length, which the screen's time limit bounds."""
    from re import _constants as c  # the parser re itself compiles with
    from re import _parser as parser

    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}
    single = {c.LITERAL, c.NOT_LITERAL, c.IN, c.ANY, c.CATEGORY}

    def walk(items: Any) -> str | None:
        for op, av in items:
            if str(op).startswith("GROUPREF"):
                return "refers back to a group"
            if op in repeats and av[1] > 1 and not (len(av[2]) == 1 and av[2][0][0] in single):
                return "repeats a group or a repetition"
            for part in av if isinstance(av, tuple | list) else ():
                nested = (
                    [part] if isinstance(part, parser.SubPattern) else part if isinstance(part, list) else []
                )
                for sub in nested:
                    if isinstance(sub, parser.SubPattern):
                        found = walk(sub)
                        if found:
                            return found
        return None

    return walk(parser.parse(pattern))
