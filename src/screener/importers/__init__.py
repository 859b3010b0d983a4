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

from ..errors import FormatMismatch, ImportFormatError
from ..records import Record, finalise
from ..textio import decode_bytes, read_export_bytes
from ..words import plural

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
    # Records with nothing to screen (a reference manager's blank `TY  - GEN`/`ER  -`, a row of
    # empty cells), kept out of `records` and said where: "record 2 (line 5)". The raw file
    # keeps them; PRISMA counts them as removed before screening (other reasons).
    empty: list[str] = field(default_factory=list)
    # What was read but may not be what the file means (a BibTeX entry closed early), one line each.
    warnings: list[str] = field(default_factory=list)
    columns: int = 1  # a table's column generation (COLUMN_GENERATION); 1 for the rest


# What may stand before a RIS file's first `TY  -` line: Ovid's record number ("1.", "3001. ",
# "<1>") and the header block some providers send ("Record #1 of 2", "Provider: ...",
# "Content: text/plain; charset=...").
_RIS_PREAMBLE = re.compile(r"\s*(?:\d+\.?|<\d+>|Record #\d+ of \d+|[A-Z][A-Za-z ]{1,30}: .*)\s*")
_RIS_START = re.compile(r"[ \t]*TY  -")
_MEDLINE_START = re.compile(r"(?:PMID|PMC |OWN |STAT)- ")
_WOS_START = re.compile(r"FN |PT [A-Z]\s*$")
_BIBTEX_START = re.compile(r"\s*@\w+\s*[{(]")
_XML_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_XML_NAME = re.compile(r"<(!DOCTYPE\s+)?([A-Za-z_][\w.:-]*)", re.IGNORECASE)
_SUFFIX_FORMATS = {
    ".ris": "ris",
    ".nbib": "medline",
    ".bib": "bibtex",
    ".ciw": "wos",
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
}


def _xml_root(text: str) -> tuple[str, bool]:
    """The root element's name (from the DOCTYPE when there is one) and whether there is a
    DOCTYPE, read past the XML declaration, comments and processing instructions."""
    position = 0
    while match := _XML_PROLOG_ITEM.match(text, position):
        position = match.end()
    name = _XML_NAME.match(text, position)
    if name is None:
        return "", False
    return name.group(2), name.group(1) is not None


def detect_format(text: str, path: str | Path = "") -> str:
    """Name the export format from how the file starts (the extension is only a tie-breaker).

    Only the structure at the start counts: the first line that is not blank (for RIS, after
    a record number or a provider's header; for BibTeX, after `%` comments), or an XML file's
    root element. Text further on is never looked at: a CSV cell or an abstract may hold a line
    that looks like a RIS or MEDLINE tag.
    """
    head = text[:65536].lstrip("\ufeff \t\r\n")
    lines = [line for line in head.splitlines()[:40] if line.strip()]
    if not lines:
        return "unknown"
    for line in lines[:12]:
        if _RIS_START.match(line):
            return "ris"
        if not _RIS_PREAMBLE.fullmatch(line):
            break
    first = lines[0]
    if first.startswith("<"):
        if re.match(r"<!DOCTYPE\s+html|<html", head, re.IGNORECASE):
            return "html"
        root, has_doctype = _xml_root(head)
        if root in ("PubmedArticleSet", "PubmedBookArticleSet"):
            return "pubmed-xml"
        if root in ("xml", "records"):
            return "endnote-xml"  # EndNote, Zotero and Mendeley write <xml><records>
        if has_doctype:
            return "pubmed-xml"  # let the PubMed reader name the foreign DOCTYPE
        return "xml"
    if _MEDLINE_START.match(first):
        return "medline"
    if _WOS_START.match(first):
        return "wos"
    bibtex = next((line for line in lines if not line.lstrip().startswith("%")), "")
    if _BIBTEX_START.match(bibtex):
        return "bibtex"
    if any(d in first for d in (",", "\t", ";", "|")):
        return "csv"
    return _SUFFIX_FORMATS.get(Path(str(path)).suffix.lower(), "unknown")


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


# Formats read by column names (tabular), whose reading has generations.
_TABLES = frozenset(("csv", "excel"))
# How a table's column names are read (tabular.map_columns): 1 as before generations; 2 also
# reads a name written as one word ("pubmedID", "PublicationYear", "JournalTitle": the Cohen
# 2006 tables, ASReview's and many scripts' exports). A stored table is read with the
# generation it was imported with (its provenance's `columns`), so its records keep their ids.
COLUMN_GENERATION = 2

# Formats that name themselves in the first lines: a file that starts as one is no other.
_SELF_EVIDENT = frozenset(("ris", "medline", "pubmed-xml", "endnote-xml", "wos", "bibtex"))

# Formats whose parser takes `strict` (see parse_bytes), and those that take a list to add warnings to.
_STRICT_PARSERS = frozenset(("medline", "csv"))
_WARNING_PARSERS = frozenset(("bibtex",))


def parse_bytes(
    data: bytes,
    path: str | Path,
    fmt: str | None = None,
    search: str = "",
    *,
    strict: bool = True,
    drop_empty: bool | None = None,
    columns: int | None = None,
) -> ParsedFile:
    """Parse an export held in memory; see `read_records`.

    `columns`: how a table's column names are read (COLUMN_GENERATION, the current
    one by default); a stored table is read with the generation it was imported with.

    `strict=False` is for a file already stored in a review: it gives the records the file gave
    when it was imported, without the checks added since (a file cut off, two articles under
    one PMID), so a review made with an earlier version keeps its records and its counts.
    New files are always read strictly. Empty records are kept out (`ParsedFile.empty`) when
    `drop_empty`, by default when strict; a stored file drops them when its provenance says
    it did at import.
    """
    generation = COLUMN_GENERATION if columns is None else columns
    with gc_paused():
        parsed = _parse_bytes(
            data, path, fmt, search, strict, strict if drop_empty is None else drop_empty, generation
        )
    if parsed.format in _TABLES:
        parsed.columns = generation
    return parsed


def _mismatch(declared: str, started: str, path: str | Path) -> FormatMismatch:
    """`--format` (or a stored file's provenance) named what the file's start denies."""
    hint = f"drop --format: its start says {started}"
    return FormatMismatch(declared, started, path=path, line=1, hint=hint)


def _parse_bytes(  # noqa: PLR0913
    data: bytes,
    path: str | Path,
    fmt: str | None,
    search: str,
    strict: bool,
    drop_empty: bool,
    generation: int,
) -> ParsedFile:
    import hashlib

    if fmt is not None and fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    digest = hashlib.sha256(data).hexdigest()
    warnings: list[str] = []
    if fmt is not None and fmt != "excel" and _is_excel(data):
        raise _mismatch(fmt, "excel", path)
    if fmt == "excel" and not _is_excel(data):
        try:
            started = detect_format(decode_bytes(data, path)[0], path)
        except ImportFormatError:
            started = "unknown"
        if started in _SELF_EVIDENT or started == "csv":
            raise _mismatch(fmt, started, path)
        raise ImportFormatError(
            "is not an Excel workbook (.xlsx)", path=path, hint="import it without --format"
        )
    if fmt == "excel" or (fmt is None and _is_excel(data)):
        if not data.startswith(b"PK\x03\x04"):
            raise ImportFormatError(
                "is an old binary .xls workbook",
                path=path,
                hint="save it as .xlsx or .csv from the spreadsheet program",
            )
        raw_records, fmt, encoding = _module("tabular").parse_excel(data, path, generation), "excel", "binary"
        text = ""
    else:
        text, encoding = decode_bytes(data, path)
        detected = fmt or detect_format(text, path)
        if fmt is not None and (started := detect_format(text, path)) in _SELF_EVIDENT and started != fmt:
            # Read as another format, an export gives other records or junk (a RIS file read
            # as MEDLINE kept its count and lost every id): its start is stronger evidence.
            raise _mismatch(fmt, started, path)
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
        parser = _module(_TEXT_PARSERS[fmt])
        if fmt == "csv":
            raw_records = parser.parse(text, path, strict, generation)
        elif fmt in _STRICT_PARSERS:
            raw_records = parser.parse(text, path, strict)
        elif fmt in _WARNING_PARSERS:
            raw_records = parser.parse(text, path, warnings)
        else:
            raw_records = parser.parse(text, path)
    where = _Where(fmt, text, path, len(raw_records))
    if not raw_records:
        raise ImportFormatError(
            f"holds no records (read as {fmt})",
            path=path,
            hint="check that the export finished, or pass --format",
        )
    records, empty = [], []
    for position, record in enumerate(raw_records):
        record.search = search
        finished = finalise(record, position)  # at its place in the file: later ids stay as they were
        if drop_empty and _is_empty(record):
            empty.append(where.record(position))
            continue
        records.append(finished)
    _separate_shared_dois(records)
    if strict:
        _refuse_conflicting_ids(records, where)
    return ParsedFile(Path(path), fmt, encoding, records, digest, data, empty, warnings)


# The fields that make a record something a reviewer can screen or find.
_CONTENT_FIELDS = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "journal_abbrev",
    "pmid",
    "doi",
    "source_id",
    "url",
    "volume",
    "issue",
    "pages",
    "keywords",
    "mesh",
    "extra",
)


def _is_empty(record: Record) -> bool:
    return not any(getattr(record, name) for name in _CONTENT_FIELDS)


def empty_warning(parsed: ParsedFile) -> str | None:
    """The warning for a file's empty records (import, update), or None when it has none."""
    if not parsed.empty:
        return None
    n = len(parsed.empty)
    shown = ", ".join(parsed.empty[:5]) + (", ..." if n > 5 else "")
    return (
        f"{parsed.path}: {plural(n, 'empty record')} ({shown}) with no title, abstract, "
        "authors, year, journal or identifier: kept out of screening (PRISMA: removed before "
        "screening, other reasons); the file is stored unchanged"
    )


class _Where:
    """Record positions in words, with the record's first line where the format tells it
    (RIS, MEDLINE, Web of Science, CSV); worked out only for an error message."""

    def __init__(self, fmt: str, text: str, path: str | Path, count: int) -> None:
        self.fmt, self.text, self.path, self.count = fmt, text, path, count
        self._lines: list[int] | None = None

    def line(self, position: int) -> int | None:
        if self._lines is None:
            self._lines = []
            module = _module(_TEXT_PARSERS[self.fmt]) if self.fmt in _TEXT_PARSERS else None
            if self.text and module is not None and hasattr(module, "record_lines"):
                with contextlib.suppress(Exception):  # only a help for the message
                    self._lines = module.record_lines(self.text, self.path)
            if len(self._lines) != self.count:
                self._lines = []  # the records were not found the parser's way: no line is better
        return self._lines[position] if position < len(self._lines) else None

    def record(self, position: int) -> str:
        line = self.line(position)
        return f"record {position + 1}" + (f" (line {line})" if line else "")


def _same_title(a: str, b: str) -> bool:
    """Whether two titles name one article (spelling, punctuation, a subtitle left out)."""
    from rapidfuzz import fuzz

    from ..normalise import title_key

    key_a, key_b = title_key(a), title_key(b)
    if not key_a or not key_b or key_a == key_b:
        return True
    return fuzz.ratio(key_a, key_b) >= 80 or fuzz.token_set_ratio(key_a, key_b) >= 95


def _refuse_conflicting_ids(records: list[Record], where: _Where) -> None:
    """Refuse two records of one file that share an id (a PMID, an accession number) but not
    a title: they would be one record in the review, and one of the two articles would be lost.

    Copies of one record (a database listing an article twice) are fine and stay one record.
    """
    first: dict[str, int] = {}
    for position, record in enumerate(records):
        earlier = first.setdefault(record.id, position)
        if earlier == position:
            continue
        other = records[earlier]
        if _same_title(other.title, record.title) and (
            other.title or record.title or _same_title(other.abstract, record.abstract)
        ):
            continue
        if record.id.startswith("pmid:"):
            what = f"PMID {record.pmid}"
        elif record.id.startswith("doi:"):
            what = f"DOI {record.doi}"
        else:
            what = f"the accession number {record.source_id}"
        shown = [(r.title or r.abstract or "(no title)")[:60] for r in (other, record)]
        raise ImportFormatError(
            f"{where.record(earlier)} and record {position + 1} (here) both have {what} but different "
            f"titles ({shown[0]!r} / {shown[1]!r}): one of the two articles would be lost",
            path=where.path,
            line=where.line(position),
            hint="correct the identifier of the wrong one in the file (or remove it), then import it",
        )


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
