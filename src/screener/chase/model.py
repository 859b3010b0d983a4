"""What the citation sources give back: one `Work` per bibliographic record, with the source's
own key, and the look-up counters every source keeps for `--dry-run` and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

DIRECTIONS = ("backward", "forward")  # references of a seed; works that cite it


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
