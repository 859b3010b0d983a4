"""EndNote XML (`<xml><records><record>`), as written by EndNote, Zotero and Mendeley."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import ImportFormatError
from ..records import Record, normalise_doi, normalise_pmid, parse_year
from ..safexml import RefusedXML, fromstring_no_dtd

_PMID_DATABASES = re.compile(r"pubmed|medline|nlm", re.IGNORECASE)


def parse(text: str, path: str | Path) -> list[Record]:
    try:
        # No DOCTYPE, no entities, anywhere in the file (defusedxml checks as it parses).
        root = fromstring_no_dtd(text)
    except RefusedXML as exc:
        raise ImportFormatError(
            f"EndNote XML must not declare a DOCTYPE or entities: it {exc}",
            path=path,
            hint="export again from EndNote, Zotero or Mendeley",
        ) from None
    except ET.ParseError as exc:
        raise ImportFormatError(
            f"is not well-formed XML ({exc.msg})",
            path=path,
            line=exc.position[0],
            hint="the file may be truncated: export it again",
        ) from None
    records = root.findall("./records/record")
    if root.tag != "xml" or (not records and root.find("records") is None):
        raise ImportFormatError(
            f"is XML but not EndNote XML (root <{root.tag}>, no <records>)", path=path, line=1
        )
    return [to_record(r) for r in records]


def _text(node: ET.Element | None) -> str:
    return " ".join("".join(node.itertext()).split()) if node is not None else ""


def _all(record: ET.Element, xpath: str) -> list[str]:
    return [t for t in (_text(n) for n in record.findall(xpath)) if t]


def to_record(record: ET.Element) -> Record:
    remote_db = _text(record.find("remote-database-name")) + " " + _text(record.find("database"))
    accession = _text(record.find("accession-num"))
    pmid = ""
    if accession and (_PMID_DATABASES.search(remote_db) or re.fullmatch(r"\d{1,8}", accession)):
        pmid = normalise_pmid(accession)
    urls = _all(record, "urls/related-urls/url") + _all(record, "urls/web-urls/url")
    doi = normalise_doi(_text(record.find("electronic-resource-num")))
    if not doi:
        doi = next((d for d in map(normalise_doi, urls) if d), "")
    ref_type = record.find("ref-type")
    journal = _text(record.find("periodical/full-title")) or _text(record.find("titles/secondary-title"))
    source_id = ""
    if accession and not pmid:
        database = re.sub(r"[^a-z0-9]+", "-", _text(record.find("remote-database-name")).lower())
        source_id = f"{database.strip('-')}:{accession}" if database.strip("-") else ""
    return Record(
        source_id=source_id,
        pmid=pmid,
        doi=doi,
        title=_text(record.find("titles/title")),
        abstract=_text(record.find("abstract")),
        authors=_all(record, "contributors/authors/author"),
        year=parse_year(_text(record.find("dates/year")) or _text(record.find("dates/pub-dates"))),
        journal=journal,
        journal_abbrev=_text(record.find("periodical/abbr-1"))
        or _text(record.find("alt-periodical/abbr-1"))
        or _text(record.find("titles/alt-title")),
        volume=_text(record.find("volume")),
        issue=_text(record.find("number")) or _text(record.find("issue")),
        pages=_text(record.find("pages")),
        keywords=_all(record, "keywords/keyword"),
        publication_types=[ref_type.get("name", "")] if ref_type is not None else [],
        language=_text(record.find("language")),
        url=urls[0] if urls else "",
    )
