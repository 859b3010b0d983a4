"""Values that become paths: a search's or a stored file's name, and a reviewer's (which
also names their decision files, so a bad one comes with the rename to make)."""

from __future__ import annotations

import re
import shlex
import unicodedata
from typing import Any

from ..names import MAX_NAME, check_name, name_problem, rule_text
from .context import Context
from .specs import Spec
from .vocab import STAGES


def could_be_labels_file(name: str) -> bool:
    """Whether labels/<stage>/NAME.csv can exist (earlier versions wrote any such name)."""
    return (
        bool(name)
        and "/" not in name
        and "\0" not in name
        and name not in (".", "..")
        and len(f"{name}.csv".encode()) <= 255  # a file name's limit on common file systems
    )


def safe_name(name: str) -> str:
    """A name within the rule made from `name`, to suggest in a rename."""
    text = unicodedata.normalize("NFC", name)
    text = "".join(c if name_problem(c) is None or c in " .'" else "-" for c in text)
    text = re.sub(r"-{2,}", "-", text).lstrip(" .-").rstrip(" -")[:MAX_NAME].rstrip(" ")
    return text if name_problem(text) is None else "reviewer"


class Name(Spec):
    """A name that becomes a path (names.check_name's rule)."""

    kind = "a string"

    def __init__(self, what: str, limit: int = MAX_NAME) -> None:
        self.what, self.limit = what, limit

    def check(self, value: Any, key: str, ctx: Context) -> Any:
        if not isinstance(value, str):
            raise self.wrong_type(value, key, ctx)
        if name_problem(value, self.limit) is None:
            return value
        return check_name(value, key, limit=self.limit, path=ctx.path, hint=self.hint(value))

    def hint(self, value: str) -> str:
        return f"a {self.what} uses {rule_text(self.limit)}"


class ReviewerName(Name):
    """A reviewer's name, which is also their decision files' name: renaming takes both."""

    def __init__(self) -> None:
        super().__init__("reviewer name")

    def hint(self, value: str) -> str:
        new = safe_name(value)
        hint = f"a reviewer name uses {rule_text()}: rename it in review.toml, e.g. name = {new!r}"
        if not could_be_labels_file(value):
            return hint
        if not value.isprintable():
            return hint + f", and rename their decision files in labels/<stage>/ to {new}.csv as well"
        moves = [
            f"git mv {shlex.quote(f'labels/{stage}/{value}.csv')} {shlex.quote(f'labels/{stage}/{new}.csv')}"
            for stage in STAGES
        ]
        return hint + ", and their decision files with it: " + "; ".join(moves) + " (for each that exists)"
