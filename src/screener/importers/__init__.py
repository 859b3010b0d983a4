"""Importers: one module per export format, chosen from the file's content.

`read_records(path)` is the one entry point: it reads the bytes, decodes them, detects the
format (or takes `fmt`), parses the whole file and returns finished records. It never writes
anything; a file that cannot be read correctly raises `ImportFormatError` naming the file
(and line where it can) and what to do.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from ..errors import ImportFormatError
from ..records import Record, finalise
from ..textio import decode_bytes, read_export_bytes

FORMATS = ("medline", "pubmed-xml", "ris", "wos", "csv", "excel", "bibtex", "endnote-xml")

# File extension each format is stored under in searches/.
EXTENSIONS = {
    "medline": ".nbib",
    "pubmed-xml": ".xml",
    "ris": ".ris",
    "wos": ".ciw",
    "csv": ".csv",
    "excel": ".xlsx",
    "bibtex": ".bib",
    "endnote-xml": ".xml",
}

# Format -> module of this package with a `parse(text, path)`; imported when first needed, so
# commands that never parse (status, --help) do not pay for pandas and Biopython.
_TEXT_PARSERS = {
    "medline": "medline",
    "pubmed-xml": "pubmed_xml",
    "ris": "ris",
    "wos": "wos",
    "csv": "tabular",
    "bibtex": "bibtex",
    "endnote-xml": "endnote_xml",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


@dataclass
class ParsedFile:
    """What a file held: its records (finished, with ids), its format and how it was decoded."""

    path: Path
    format: str
    encoding: str
    records: list[Record]
    sha256: str
    data: bytes | None = field(default=None, repr=False)  # the file's bytes, stored as they are


def detect_format(text: str, path: str | Path = "") -> str:
    """Name the export format from the text itself (the extension is only a tie-breaker)."""
    head = text[:20000].lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        if re.match(r"<!DOCTYPE\s+html|<html", head, re.IGNORECASE):
            return "html"
        if re.search(r"<PubmedArticleSet|<PubmedBookArticleSet|<!DOCTYPE\s+Pubmed", head[:5000]):
            return "pubmed-xml"
        if re.search(r"<xml>\s*<records>|<records>\s*<record>", head[:5000]):
            return "endnote-xml"
        if re.search(r"<!DOCTYPE\s+(\w+)", head[:5000]):
            return "pubmed-xml"  # let the PubMed reader name the foreign DOCTYPE
        return "xml"
    if re.search(r"^\s*(?:\d+\.\s*\n)?TY  -", head, re.MULTILINE):
        return "ris"
    if re.search(r"^(?:PMID|PMC |OWN |STAT)- ", head, re.MULTILINE):
        return "medline"
    if re.search(r"^PT [A-Z]\s*$", head, re.MULTILINE) and re.search(
        r"^(?:FN |TI |AU |UT )", head, re.MULTILINE
    ):
        return "wos"
    if re.search(r"^\s*@\w+\s*[{(]", head, re.MULTILINE):
        return "bibtex"
    first = head.splitlines()[0] if head else ""
    if any(d in first for d in (",", "\t", ";", "|")):
        return "csv"
    suffix = Path(str(path)).suffix.lower()
    by_suffix = {
        ".ris": "ris",
        ".nbib": "medline",
        ".bib": "bibtex",
        ".ciw": "wos",
        ".csv": "csv",
        ".tsv": "csv",
        ".tab": "csv",
    }
    return by_suffix.get(suffix, "unknown")


def _is_excel(data: bytes) -> bool:
    return data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Parsing creates millions of small objects and no cycles; the cyclic collector would
    walk the growing heap again and again (a third of the time on 100,000 records)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_bytes(data: bytes, path: str | Path, fmt: str | None = None, search: str = "") -> ParsedFile:
    """Parse an export held in memory; see `read_records`."""
    with gc_paused():
        return _parse_bytes(data, path, fmt, search)


def _parse_bytes(data: bytes, path: str | Path, fmt: str | None, search: str) -> ParsedFile:
    import hashlib

    if fmt is not None and fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    digest = hashlib.sha256(data).hexdigest()
    if fmt == "excel" or (fmt is None and _is_excel(data)):
        if not data.startswith(b"PK\x03\x04"):
            raise ImportFormatError(
                "is an old binary .xls workbook",
                path=path,
                hint="save it as .xlsx or .csv from the spreadsheet program",
            )
        raw_records, fmt, encoding = _module("tabular").parse_excel(data, path), "excel", "binary"
    else:
        text, encoding = decode_bytes(data, path)
        detected = fmt or detect_format(text, path)
        if detected not in _TEXT_PARSERS and detected != "html":
            raise ImportFormatError(
                "format not recognised: not RIS, MEDLINE/nbib, PubMed XML, EndNote XML, "
                "Web of Science, BibTeX, CSV/TSV or Excel",
                path=path,
                line=1,
                hint=f"if it is one of these, say which with --format ({', '.join(FORMATS)})",
            )
        if detected == "html":
            raise ImportFormatError(
                "is a web page (HTML), not an export",
                path=path,
                line=1,
                hint="use the database's Export/Save function (RIS, MEDLINE, CSV...)",
            )
        fmt = detected
        raw_records = _module(_TEXT_PARSERS[fmt]).parse(text, path)
    if not raw_records:
        raise ImportFormatError(
            f"holds no records (read as {fmt})",
            path=path,
            hint="check that the export finished, or pass --format",
        )
    records = []
    for position, record in enumerate(raw_records):
        record.search = search
        records.append(finalise(record, position))
    _separate_shared_dois(records)
    return ParsedFile(Path(path), fmt, encoding, records, digest, data)


def _separate_shared_dois(records: list[Record]) -> None:
    """Give records that share a DOI but not a title ids of their own.

    Publishers give one DOI to a whole supplement of meeting abstracts; without this, every
    abstract of the supplement would be one record, and one screening decision would cover all.
    The suffix comes from the title, so ids stay the same when the file is imported again.
    """
    import hashlib
    from collections import Counter

    from ..records import _title_key

    repeated = {i for i, n in Counter(r.id for r in records).items() if n > 1 and i.startswith("doi:")}
    if not repeated:
        return
    by_id: dict[str, list[Record]] = {}
    for record in records:
        if record.id in repeated:
            by_id.setdefault(record.id, []).append(record)
    for record_id, group in by_id.items():
        if len(group) > 1 and len({_title_key(r.title) for r in group}) > 1:
            for record in group:
                digest = hashlib.sha1(_title_key(record.title).encode()).hexdigest()[:8]
                record.id = f"{record_id}#{digest}"


def read_records(path: str | Path, fmt: str | None = None, search: str = "") -> ParsedFile:
    """Read and parse a whole export file (format detected from content unless `fmt` given)."""
    return parse_bytes(read_export_bytes(path), Path(path), fmt, search)
