"""What the citation sources give back: one `Work` per bibliographic record, with the source's
own key, and the look-up counters every source keeps for `--dry-run` and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

DIRECTIONS = ("backward", "forward")  # references of a seed; works that cite it
# The most works one seed may bring in one direction: past it an answer that keeps paging
# (a new cursor every page, a count of a billion) is taken as damaged, not followed for ever.
MAX_WORKS = 10_000


def text(value: object) -> str:
    """A field from a server as text: a string or a number as such, anything else (a list, an
    object, true) as nothing, so one odd field drops that field and not the work."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def whole(value: object) -> int | None:
    """An integer field from a server (a count, a year); true/false and anything else are None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Work:
    """One work as a source describes it; `refs` are the source keys of what it cites, when the
    source says (OpenAlex), else None."""

    source: str  # "openalex" | "europepmc"
    key: str  # the source's id: "W2741809807", "MED:12345678"
    title: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    pmid: str = ""
    abstract: str = ""
    refs: list[str] | None = None


@dataclass(frozen=True)
class Seed:
    """A record the chase starts from: its id in the review and the identifiers it has."""

    record_id: str
    title: str = ""
    doi: str = ""
    pmid: str = ""

    @property
    def identified(self) -> bool:
        return bool(self.doi or self.pmid)
