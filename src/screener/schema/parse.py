"""TOML text of the review parsed, refusing what would stall the parser (a dotted key of
thousands of parts, a number of thousands of digits, nesting too deep)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ScreenerError

# tomllib's time grows with the square of a dotted key's length (10,000 parts: 3 s, 400 MB).
MAX_KEY_PARTS = 32


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """TOML text of the review parsed, with errors naming the file and line: invalid TOML, a
    dotted key long enough to stall the parser, arrays or inline tables nested too deep."""
    deep = _DEEP_KEY.search(text)
    if deep:
        raise ScreenerError(
            f"has a dotted key of more than {MAX_KEY_PARTS} parts",
            path=path,
            line=text.count("\n", 0, deep.start()) + 1,
            hint="no key of screener's nests that deep: remove it, or restore the file from git",
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        marker = _CONFLICT_MARKER.search(text)
        if marker:  # git left both sides of a merge in the file
            raise ScreenerError(
                "holds an unresolved git merge conflict",
                path=path,
                line=text.count("\n", 0, marker.start()) + 1,
                hint="keep what both sides need (for a search: one copy of its own lines, name, "
                "database, date_searched..., above the first [[files]] line, then each side's "
                "[[files]] entries whole, each under its own [[files]] line; lines git kept once, "
                "before <<<<<<< or after >>>>>>>, belong to both sides), delete the <<<<<<<, "
                "======= and >>>>>>> lines (and, in git's diff3 style, the ||||||| line with the "
                "lines below it up to =======), run 'screener check', then 'git add' the file",
            ) from None
        line = re.search(r"line (\d+)", str(exc))
        raise ScreenerError(
            f"is not valid TOML ({exc})",
            path=path,
            line=int(line.group(1)) if line else None,
            hint="fix it by hand or restore it from git",
        ) from None
    except ValueError:  # an integer of more than 4,300 digits (Python's limit on int conversion)
        long_number = re.search(r"\d{4000,}", text)
        raise ScreenerError(
            "has a number too long to read (thousands of digits)",
            path=path,
            line=text.count("\n", 0, long_number.start()) + 1 if long_number else None,
            hint="no value of screener's is that long: fix it by hand or restore the file from git",
        ) from None
    except RecursionError:
        raise ScreenerError(
            "nests arrays or inline tables too deeply to be read",
            path=path,
            hint="no key of screener's nests that deep: remove it, or restore the file from git",
        ) from None


# The lines git writes around the two sides of a conflict it cannot merge.
_CONFLICT_MARKER = re.compile(r"^(?:<{7}|>{7}|\|{7})(?: |$)", re.MULTILINE)  # ||||||| : diff3 style

# A dotted key (bare or quoted parts) at a line start, a table header or inside an inline table.
_KEY_PART = r"""(?>[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')[ \t]*+\.[ \t]*+"""
_DEEP_KEY = re.compile(rf"(?:^|[{{,])[ \t]*+\[{{0,2}}[ \t]*+(?:{_KEY_PART}){{{MAX_KEY_PARTS}}}", re.MULTILINE)
