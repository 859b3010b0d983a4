"""A search as searches/NAME.toml records it: its provenance, its raw files with their sha256, and
the rounds it brought records to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ScreenerError
from ..schema import check_search
from ..words import plural

SEARCH_NAME_HINT = (
    "use letters, digits, space, '.', '_', '-' or \"'\"; no leading dot or space; at most 64 characters; "
    "e.g. --search medline-2012"
)


def _line_endings_converted(data: bytes, sha256: str) -> bool:
    """Whether `data` is the recorded file with its line endings converted, as git does."""
    for converted in (data.replace(b"\r\n", b"\n"), data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")):
        if converted != data and hashlib.sha256(converted).hexdigest() == sha256:
            return True
    return False


@dataclass
class SearchFile:
    path: str  # relative to searches/
    format: str
    sha256: str
    records: int
    encoding: str = "utf-8"
    imported: str = ""
    original_name: str = ""
    # The review version that brought this file: 1 for the original review, 2 for the first
    # update, and so on (`screener update`).
    round: int = 1
    date_searched: str = ""  # an update's search date (the search's own is the first one)
    # Records of the export with nothing to screen, kept out of `records` (the raw file keeps
    # them); PRISMA: records removed before screening for other reasons.
    empty: int = 0
    # A table's column generation (importers.COLUMN_GENERATION) at its import: how its
    # column names are read, so its records keep their ids. Absent: 1, as before generations.
    columns: int = 1


@dataclass
class Search:
    """One search (a database queried once, or one other source) and its provenance."""

    name: str
    database: str = ""
    query: str = ""
    date_searched: str = ""
    source: str = "file"  # "file" (an export imported), "pubmed" (run through Entrez)
    notes: str = ""
    # PRISMA's source of records: database, register, website, organisation or citations.
    kind: str = "database"
    files: list[SearchFile] = field(default_factory=list)
    pubmed: dict[str, Any] = field(default_factory=dict)
    # Files taken out with `screener import --remove`: what they were, when and why removed.
    removed: list[dict[str, Any]] = field(default_factory=list)
    # Unknown keys, each "PATH: unknown key X, ignored (did you mean Y?)": for stderr, once.
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def record_count(self) -> int:
        return sum(f.records for f in self.files)

    def rounds(self) -> list[dict[str, Any]]:
        """Per round this search brought records to (or was re-run in): its date searched and
        records, oldest first. The search's own date is its first round's; an update's is kept
        on its file, or on the PubMed run that found nothing new."""
        first = min((f.round for f in self.files), default=1)
        dates: dict[int, str] = {first: self.date_searched}
        records: dict[int, int] = {}
        for f in self.files:
            records[f.round] = records.get(f.round, 0) + f.records
            if not dates.get(f.round):
                dates[f.round] = f.date_searched
        for run in self.pubmed.get("updates", []):
            number = int(run.get("round", 1))
            if not dates.get(number):
                dates[number] = str(run.get("date_run", ""))[:10]
        return [{"round": n, "date_searched": dates[n], "records": records.get(n, 0)} for n in sorted(dates)]

    @property
    def empty_count(self) -> int:
        """Empty records of its exports, kept out of screening (see SearchFile.empty)."""
        return sum(f.empty for f in self.files)

    def to_toml(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "database": self.database,
            "source": self.source,
            "query": self.query,
            "date_searched": self.date_searched,
        }
        if self.notes:
            data["notes"] = self.notes
        if self.pubmed:
            data["pubmed"] = self.pubmed
        data["files"] = [
            {
                k: v
                for k, v in vars(f).items()
                if v != "" and (k, v) not in (("round", 1), ("empty", 0), ("columns", 1))
            }
            for f in self.files
        ]
        if self.removed:
            data["removed"] = self.removed
        return data

    @classmethod
    def from_toml(cls, data: dict[str, Any], path: Path) -> Search:
        """A search from its searches/NAME.toml, checked (schema.SEARCH); unknown keys come back
        as warnings (and are not kept when screener writes the file again)."""
        checked = check_search(data, path)
        data = checked.data
        known = {f.name for f in dataclasses.fields(SearchFile)}
        return cls(
            name=data.get("name", path.stem),
            database=data.get("database", ""),
            query=data.get("query", ""),
            date_searched=data.get("date_searched", ""),
            source=data.get("source", "file"),
            notes=data.get("notes", ""),
            kind=data.get("kind", "database"),
            files=[SearchFile(**{k: v for k, v in f.items() if k in known}) for f in data.get("files", [])],
            pubmed=dict(data.get("pubmed", {})),
            removed=[dict(entry) for entry in data.get("removed", [])],
            warnings=checked.warnings,
        )


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def import_time() -> str:
    """When a file is imported, to the millisecond: which of two records sharing an id the review
    held first is decided by it (dedup's split ids), and scripts import many files a second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def environment_summary() -> dict[str, str]:
    """Versions recorded in provenance, so a search can be reproduced."""
    import Bio

    return {"screener": __version__, "biopython": Bio.__version__, "python": sys.version.split()[0]}


def _check_rounds(searches: list[Search], folder: Path) -> None:
    """Refuse a file round no update can have made. Each `screener update` opens the round after
    the latest, so the review's rounds run 1, 2, 3...; a round may be left without files (its
    files removed), hence one gap is allowed: a round above the number of rounds recorded + 1 was
    typed by hand, and would make every listing of rounds count up to it."""
    recorded: set[int] = set()
    for search in searches:
        recorded.update(f.round for f in search.files)
        recorded.update(int(r["round"]) for r in search.removed if isinstance(r.get("round"), int))
        recorded.update(
            int(u["round"]) for u in search.pubmed.get("updates", []) if isinstance(u.get("round"), int)
        )
    highest = len(recorded) + 1
    for search in searches:
        for index, file in enumerate(search.files):
            if file.round > highest:
                raise ScreenerError(
                    f"files[{index}].round is {file.round}, but the review has "
                    f"{plural(len(recorded), 'round')} of searches: no update made it",
                    path=folder / f"{search.name}.toml",
                    hint="set it to the round that file was imported in (1 is the original review, 2 the "
                    "first 'screener update'), or restore the file from git",
                )
