"""A checked file (its data and warnings), and the file being checked: where errors point."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ScreenerError

if TYPE_CHECKING:
    from .tables import Table


@dataclass
class Checked:
    """A validated file: its contents with known values normalised, and warnings to show once."""

    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class Context:
    """The file being checked: where errors point, and the warnings collected so far."""

    def __init__(self, path: Path, root: Table) -> None:
        self.path, self.root = path, root
        self.warnings: list[str] = []

    def error(self, key: str, problem: str, hint: str) -> ScreenerError:
        return ScreenerError(f"{key} {problem}", path=self.path, hint=hint)
