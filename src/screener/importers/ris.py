"""RIS in its database flavours (Embase, Ovid, Scopus, WoS, Zotero, EndNote, ProQuest, EBSCO, Rayyan).

Parsed by rispy; this module maps each flavour's tags onto the record model and refuses
truncated files (rispy silently drops a last record that has no `ER`).
"""

from __future__ import annotations

import re
from pathlib import Path

import rispy

from ..errors import ImportFormatError
from ..records import Record, normalise_doi, normalise_pmid, parse_year, split_pages

_TY = re.compile(r"^[ \t]*TY  -", re.MULTILINE)
_ER = re.compile(r"^ER  -", re.MULTILINE)
_PMID_NOTE = re.compile(r"\b(?:PMID|PubMed ID)\s*[:=]?\s*(\d{1,9})\b", re.IGNORECASE)


def _parser() -> rispy.RisParser:
    # Ovid, WoS and Scopus repeat tags that the RIS spec calls single (two DO lines, PB twice);
    # keep the first value, and keep unknown tags (J9, JI, U2, C5...) for the flavour mapping.
    return rispy.RisParser(enforce_list_tags=True, skip_unknown_tags=False)


def check_complete(text: str, path: str | Path) -> None:
    """Refuse a file whose last record was cut off before its `ER` line."""
    starts = [m.start() for m in _TY.finditer(text)]
    ends = [m.start() for m in _ER.finditer(text)]
    if not starts:
        raise ImportFormatError(
            "has no RIS record (no 'TY  - ' line)", path=path, hint="is it really a RIS export?"
        )
    if len(ends) < len(starts) or ends[-1] < starts[-1]:
        line = text.count("\n", 0, starts[-1]) + 1
        raise ImportFormatError(
            "the last RIS record (starting here) has no 'ER  - ' line: the file is truncated",
            path=path,
            line=line,
            hint="download the export again",
        )


def parse(text: str, path: str | Path) -> list[Record]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    check_complete(text, path)
    entries = _parser().parse(text)
    return [to_record(entry) for entry in entries]


def _first(entry: dict, *keys: str) -> str:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            value = next((v for v in value if v), "")
        if value:
            return str(value).strip()
    return ""


def _unknown(entry: dict, tag: str) -> list[str]:
    unknown = entry.get("unknown_tag") or {}
    return [v for v in unknown.get(tag, []) if v]


def to_record(entry: dict) -> Record:
    rtype = _first(entry, "type_of_reference")
    database = _first(entry, "name_of_database")
    provider = _first(entry, "database_provider")
    urls: list[str] = []
    for value in entry.get("urls") or []:
        urls.extend(u for u in re.split(r"\s+", value) if u)
    attachments = [_first(entry, "file_attachments2"), *_unknown(entry, "L3")]

    title = _first(entry, "title", "primary_title")
    journal_full = _first(entry, "alternate_title3")  # JF
    secondary = _first(entry, "secondary_title")  # T2: journal for articles, book for chapters
    journal_name = _first(entry, "journal_name")  # JO: full name or abbreviation, by flavour
    if not title and rtype in ("BOOK", "EBOOK", "EDBOOK"):
        title = secondary
    journal = journal_full or (secondary if rtype not in ("CHAP", "ECHAP") else "") or journal_name
    abbrev = (
        _first(entry, "alternate_title1", "alternate_title2")
        or next(iter(_unknown(entry, "JI") + _unknown(entry, "J9")), "")
        or (journal_name if journal_name and journal_name != journal else "")
    )

    start = _first(entry, "start_page")
    end = _first(entry, "end_page")
    if start.lower() == "no" and end.lower() == "specified":  # Ovid's "No pagination specified"
        start = end = ""
    pages = split_pages(start, end) or _first(entry, "custom7")  # Scopus: article number in C7

    doi = ""
    for candidate in [_first(entry, "doi"), *attachments, *urls]:
        doi = normalise_doi(candidate)
        if doi:
            break

    accession = _first(entry, "accession_number").split(";")[0].strip()
    pmid = ""
    lowered = f"{database} {provider}".lower()
    if accession and ("nlm" in lowered or "pubmed" in lowered or "medline" in lowered):
        pmid = normalise_pmid(accession)
    if not pmid:
        for note in entry.get("notes") or []:
            match = _PMID_NOTE.search(note)
            if match:
                pmid = normalise_pmid(match.group(1))
                break
    if not pmid:
        pmid = normalise_pmid(next(iter(_unknown(entry, "PM")), ""))

    source_id = ""
    if "embase" in lowered:
        source_id = _first(entry, "custom2") or next(iter(_unknown(entry, "U2")), "") or accession
        source_id = f"embase:{source_id}" if source_id else ""
    elif accession.upper().startswith("WOS:"):
        source_id = "wos:" + accession[4:]
    elif "scopus" in lowered:
        eid = next((re.search(r"eid=([\w.-]+)", u) for u in urls if "eid=" in u), None)
        source_id = f"scopus:{eid.group(1)}" if eid else ""
    elif accession and not pmid and database and not accession.startswith("rayyan-"):
        source_id = f"{re.sub(r'[^a-z0-9]+', '-', database.lower()).strip('-')}:{accession}"

    keywords = [k for value in entry.get("keywords") or [] for k in re.split(r"\s*;\s*", value)]
    type_name = rispy.TYPE_OF_REFERENCE_MAPPING.get(rtype, rtype)
    ptypes = [p for p in (_first(entry, "type_of_work"), type_name) if p]
    return Record(
        source_id=source_id,
        pmid=pmid,
        doi=doi,
        title=title,
        abstract=_first(entry, "abstract", "notes_abstract"),
        authors=list(entry.get("authors") or []) + list(entry.get("first_authors") or []),
        year=parse_year(_first(entry, "year", "publication_year", "date")),
        journal=journal,
        journal_abbrev=abbrev,
        volume=_first(entry, "volume"),
        issue=_first(entry, "number"),
        pages=pages,
        keywords=keywords,
        publication_types=ptypes,
        language=_first(entry, "language"),
        url=urls[0] if urls else "",
    )
