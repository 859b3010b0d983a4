"""BibTeX exports (Scopus, Zotero, JabRef, Google Scholar), parsed by bibtexparser 2."""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
from bibtexparser.middlewares import LatexDecodingMiddleware

from ..errors import ImportFormatError
from ..records import Record, normalise_pmid, parse_year

_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def parse(text: str, path: str | Path) -> list[Record]:
    library = bibtexparser.parse_string(
        text, append_middleware=[LatexDecodingMiddleware(keep_braced_groups=False)]
    )
    entries = []
    for block in library.blocks:
        if isinstance(block, bibtexparser.model.Entry):
            entries.append(block)
        elif isinstance(block, bibtexparser.model.DuplicateFieldKeyBlock):
            # Scopus repeats keys such as funding_details; the first value of each is kept.
            entries.append(block.ignore_error_block)
        elif isinstance(block, bibtexparser.model.ParsingFailedBlock):
            raise ImportFormatError(
            f"a BibTeX entry cannot be parsed ({type(block).__name__})",
            path=path,
            line=(block.start_line or 0) + 1,
            hint="fix or remove that entry (unbalanced braces or a missing comma are usual)",
        )
    if not entries:
        raise ImportFormatError("has no BibTeX entry (no '@article{...}')", path=path)
    return [to_record(entry) for entry in entries]


def _field(fields: dict[str, str], *names: str) -> str:
    for name in names:
        value = fields.get(name)
        if value:
            return str(value).replace("{", "").replace("}", "").strip()
    return ""


def to_record(entry: bibtexparser.model.Entry) -> Record:
    fields: dict[str, str] = {}
    for field in entry.fields:
        fields.setdefault(field.key.lower(), field.value)
    authors = [a for a in _AND.split(_field(fields, "author")) if a]
    keywords = re.split(r"\s*[;,]\s*", _field(fields, "keywords", "author_keywords"))
    pmid = normalise_pmid(_field(fields, "pmid"))
    if not pmid and _field(fields, "eprinttype").lower() == "pubmed":
        pmid = normalise_pmid(_field(fields, "eprint"))
    url = _field(fields, "url")
    source_id = ""
    eid = re.search(r"eid=(2-s2\.0-\d+)", url)
    if eid:
        source_id = f"scopus:{eid.group(1)}"
    return Record(
        source_id=source_id,
        pmid=pmid,
        doi=_field(fields, "doi"),
        title=_field(fields, "title"),
        abstract=_field(fields, "abstract"),
        authors=authors,
        year=parse_year(_field(fields, "year", "date")),
        journal=_field(fields, "journal", "journaltitle", "booktitle"),
        journal_abbrev=_field(fields, "shortjournal", "abbrev_source_title", "journal-iso"),
        volume=_field(fields, "volume"),
        issue=_field(fields, "number", "issue"),
        pages=_field(fields, "pages").replace("--", "-") or _field(fields, "art_number"),
        keywords=[k for k in keywords if k],
        publication_types=[entry.entry_type] + ([_field(fields, "document_type")] if fields.get("document_type") else []),
        language=_field(fields, "language"),
        url=url,
    )
