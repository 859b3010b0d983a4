"""PubMed MEDLINE / .nbib exports (and PMC's MEDLARS flavour), parsed by Bio.Medline."""

from __future__ import annotations

import io
import re
from pathlib import Path

from Bio import Medline

from ..errors import ImportFormatError
from ..records import Record, normalise_doi, parse_year

_RECORD_START = re.compile(r"^(?:PMID|PMC |TI  )- ", re.MULTILINE)


def parse(text: str, path: str | Path) -> list[Record]:
    if not _RECORD_START.search(text):
        raise ImportFormatError(
            "has no MEDLINE record (no 'PMID- ' line)",
            path=path,
            hint="export from PubMed with 'Save > Format: PubMed'",
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [to_record(entry) for entry in Medline.parse(io.StringIO(text)) if entry]


def _as_list(value: object) -> list[str]:
    if not value:
        return []
    return list(value) if isinstance(value, list) else [str(value)]


def _one(entry: dict, key: str) -> str:
    value = entry.get(key, "")
    return " ".join(value) if isinstance(value, list) else str(value)


def to_record(entry: dict) -> Record:
    pmid = _one(entry, "PMID")
    doi = ""
    for ident in _as_list(entry.get("LID")) + _as_list(entry.get("AID")):
        if "[doi]" in ident:
            doi = normalise_doi(ident)
            if doi:
                break
    authors = _as_list(entry.get("FAU")) or _as_list(entry.get("AU"))
    authors += _as_list(entry.get("CN"))  # group authors ("Cochrane Collaboration")
    mesh = [term.replace("*", "") for term in _as_list(entry.get("MH"))]
    url = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else ""
    if not url and entry.get("PMC"):
        url = f"https://www.ncbi.nlm.nih.gov/pmc/articles/{_one(entry, 'PMC')}/"
    return Record(
        source_id=f"pmc:{_one(entry, 'PMC')}" if entry.get("PMC") and not pmid else "",
        pmid=pmid,
        doi=doi,
        title=_one(entry, "TI") or _one(entry, "BTI"),
        abstract=_one(entry, "AB"),
        authors=authors,
        year=parse_year(_one(entry, "DP") or _one(entry, "DEP")),
        journal=_one(entry, "JT"),
        journal_abbrev=_one(entry, "TA") or _one(entry, "JT"),
        volume=_one(entry, "VI"),
        issue=_one(entry, "IP"),
        pages=_one(entry, "PG"),
        keywords=_as_list(entry.get("OT")),
        mesh=mesh,
        publication_types=_as_list(entry.get("PT")),
        language=", ".join(_as_list(entry.get("LA"))),
        url=url,
    )
