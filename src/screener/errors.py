"""Errors a user can act on: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class ScreenerError(Exception):
    """A problem with the user's input or review, with where it is and what to do about it."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str = "",
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        text = where + self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class ImportFormatError(ScreenerError):
    """A file that cannot be read as the format it claims (or seems) to be."""


class FormatMismatch(ImportFormatError):
    """A file named as one format (`--format`, or a search's provenance) that starts as another."""

    def __init__(
        self,
        declared: str,
        detected: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str = "",
    ) -> None:
        self.declared, self.detected = declared, detected
        super().__init__(f"starts as {self.started_as}, not {declared}", path=path, line=line, hint=hint)

    @property
    def started_as(self) -> str:
        """'a medline export', 'an excel export'."""
        return f"{'an' if self.detected[:1] in 'aeiou' else 'a'} {self.detected} export"
