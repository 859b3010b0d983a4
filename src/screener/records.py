"""The one record model every importer produces, its id rules, and the field normalisers.

Importers fill a `Record` from whatever their format offers; `finalise` then cleans the
fields the same way for every source and gives the record its stable id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = [
    "Record",
    "normalise_doi",
    "normalise_pmid",
    "parse_year",
    "clean_text",
    "safe_text",
    "split_pages",
    "record_id",
    "finalise",
]


@dataclass
class Record:
    """One bibliographic record as it came from one search.

    `id` is stable (see `record_id`); `search` names the search it came from; `source_id` is
    the database's own accession number where the export has one (Embase L-number, WoS UT,
    Scopus EID, ...). `extra` keeps columns a CSV brought that the model has no field for
    (labels such as `label_included`, for simulation).
    """

    id: str = ""
    search: str = ""
    source_id: str = ""
    pmid: str = ""
    doi: str = ""
    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    journal_abbrev: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    keywords: list[str] = field(default_factory=list)
    mesh: list[str] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    language: str = ""
    url: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("authors", "keywords", "mesh", "publication_types"):
            data[key] = list(data[key])
        data["extra"] = dict(data["extra"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


_DOI_PREFIX = re.compile(
    r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/|(?:dx\.)?doi\.org/|https?://doi\.[a-z]+/)",
    re.IGNORECASE,
)
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def normalise_doi(value: str | None) -> str:
    """Lower case, no URL or `doi:` prefix, no trailing punctuation; '' when it is not a DOI.

    >>> normalise_doi("https://doi.org/10.1111/HPB.12225.")
    '10.1111/hpb.12225'
    """
    if not value:
        return ""
    # Control and bidi characters are no part of a DOI: a NUL or U+202E in an export's DOI
    # would otherwise enter the record's id, and reverse the ids shown after it.
    text = _INVISIBLE.sub("", str(value)).strip()
    if text.startswith("10.") and " " not in text and "%" not in text and "&" not in text:
        # Already bare: the common case, kept cheap.
        return text.rstrip(".,;:)]}>\"'").lower() if _DOI_IN_TEXT.match(text) else ""
    text = html.unescape(text)
    # Exports put "[doi]" suffixes (MEDLINE AID) or several DOIs separated by spaces.
    text = re.sub(r"\s*\[doi\]\s*$", "", text, flags=re.IGNORECASE)
    if "%" in text:  # DOIs inside URLs arrive percent-encoded
        text = unquote(text)
    text = _DOI_PREFIX.sub("", text)
    match = _DOI_IN_TEXT.search(text)
    if not match:
        return ""
    doi = match.group(0)
    if "://" in text:  # a DOI taken from a link ends where the link's next parameter starts
        doi = re.split(r"[&?#]", doi)[0]
    doi = doi.rstrip(".,;:)]}>\"'")
    return doi.lower()


def normalise_pmid(value: str | int | None) -> str:
    """Digits only ('12345678'), '' for anything that is not a PubMed id."""
    if not value:
        return ""
    text = str(value).strip()
    if text.isdigit():  # the usual case
        return text if len(text) <= 9 and int(text) > 0 else ""
    text = re.sub(r"^(?:pmid|pubmed id|medline)\s*[:=]?\s*", "", text, flags=re.IGNORECASE)
    text = text.split()[0] if text else ""
    if text.endswith(".0") and text[:-2].isdigit():  # pandas read a numeric column as float
        text = text[:-2]
    return text if text.isdigit() and 0 < len(text) <= 9 and int(text) > 0 else ""


_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|21\d\d)(?!\d)")


def parse_year(value: Any) -> int | None:
    """The first plausible four-digit year in a date-ish value ('2014//', '2012 Sep 30', 2014.0)."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        value = int(value)
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:.-]*(?:\s[^<>]*)?/?>")
# Only runs of white space and non-space white space need replacing; substituting every
# single space (as \s+ would) costs ten times more on abstracts.
_SPACE = re.compile(r"\s{2,}|[^\S ]")
# Control characters (C0 but white space, DEL, C1) and bidirectional overrides: an export's
# escape sequence must never reach a terminal (`status`, `rank`, the screen) or reorder text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: Any) -> str:
    """Plain text: HTML/MathML tags dropped, entities decoded, white space folded, NFC."""
    if not value:
        return ""
    if not isinstance(value, str):
        if isinstance(value, float) and value != value:  # NaN from a spreadsheet
            return ""
        value = str(value)
    text = value
    if "<" in text and ">" in text:
        text = _TAG.sub("", text)
    if "&" in text and ";" in text:  # an entity needs its ';' (URLs are full of bare '&')
        text = html.unescape(text)
    # Most fields need no folding; checking first is much cheaper than always substituting.
    if not text.isprintable():
        text = _CONTROL.sub(" ", text)
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\xa0" in text:
        text = _SPACE.sub(" ", text)
    text = text.strip()
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


# What a terminal, a page or an export must never show from text a file or a server brought:
# control characters (C0 but tab and line feed, DEL, C1: a carriage return redraws the line)
# and bidirectional controls (they reorder what follows, so an id or a note reads otherwise).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_text(value: Any) -> str:
    """`value` as text to show: each control or bidi character becomes a space, as in record
    fields (`clean_text`); nothing else changes. The one cleaner for text from review.toml,
    labels files (notes, tags, reasons; ids only where shown, never in files) and servers on
    its way to a terminal, the report or an export."""
    text = "" if value is None else str(value)
    return text if text.isprintable() else _UNSAFE.sub(" ", text)


def split_pages(start: str, end: str = "") -> str:
    """'152' + '160' -> '152-160'; a single value passes through."""
    start, end = (start or "").strip(), (end or "").strip()
    if start and end and end != start:
        return f"{start}-{end}"
    return start or end


def _title_key(title: str) -> str:
    decomposed = unicodedata.normalize("NFKD", title.lower())
    return re.sub(r"[^a-z0-9]+", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _first_author_surname(authors: list[str]) -> str:
    if not authors:
        return ""
    first = authors[0]
    surname = first.split(",")[0] if "," in first else first.split(" ")[0]
    return _title_key(surname)


_OWN_NAMESPACES = frozenset(("pmid", "doi", "h"))


def record_id(record: Record, position: int = 0) -> str:
    """The stable id: a global identifier where there is one, else a content hash.

    `pmid:<n>` first, then `doi:<doi>`, then the database's accession number, then a hash of
    the normalised title, first author surname, year, volume, issue and pages (and, for a
    record with no title, its search and position: nothing else tells such records apart).
    Row numbers are never used otherwise, so the same record imported again (or the same PMID
    from another search) gets the same id and decisions stay attached to it.
    """
    if record.pmid:
        return f"pmid:{record.pmid}"
    if record.doi:
        return f"doi:{record.doi}"
    if record.source_id:
        # Importers prefix real accession numbers with their database ("embase:L3737...",
        # "wos:000...", "scopus:2-s2.0-..."); a bare source id is only unique within its search.
        # An accession never takes a namespace screener gives itself: a table's id column (or a
        # database named "PMID") saying "pmid:16511671" would merge an unrelated record into
        # that PubMed record, and take its decisions.
        namespace = record.source_id.partition(":")[0].strip().casefold()
        if ":" in record.source_id and namespace not in _OWN_NAMESPACES:
            return record.source_id
        return f"{record.search}:{record.source_id}"
    # Volume, issue and pages keep apart the recurring items of one journal ("Editorial",
    # "Editor's comments") that share a title, an author and a year.
    basis = "|".join(
        [
            _title_key(record.title),
            _first_author_surname(record.authors),
            str(record.year or ""),
            _title_key(record.volume),
            _title_key(record.issue),
            _title_key(record.pages),
        ]
    )
    if not _title_key(record.title):
        # Nothing identifies it but its position: better a per-search id than a collision.
        basis = f"{record.search}|{position}|{basis}"
    return "h:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


_SPECIAL_CHARS = re.compile(r"[<&\t\n\r\xa0\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _needs_cleaning(text: str) -> bool:
    return "  " in text or _SPECIAL_CHARS.search(text) is not None


def _clean_list(values: list[Any], unique: bool = True) -> list[str]:
    if not values:
        return []
    if len(values) == 1:
        text = clean_text(values[0]).strip(" ;,")
        return [text] if text else []
    try:
        joined = "\x1f".join(values)
    except TypeError:
        joined = "\x1f".join(map(str, values))
    if joined.isascii() and not _needs_cleaning(joined):
        # The usual case: plain ASCII items, only stripping (and de-duplication) to do.
        items = [v.strip(" ;,") for v in joined.split("\x1f")]
    else:
        items = [clean_text(v).strip(" ;,") for v in values]
    if not unique:
        return [v for v in items if v]
    return [v for v in dict.fromkeys(items) if v]


_SHORT_FIELDS = (
    "title",
    "journal",
    "journal_abbrev",
    "volume",
    "issue",
    "pages",
    "language",
    "url",
    "source_id",
)


def finalise(record: Record, position: int = 0) -> Record:
    """Clean every field the same way for all sources, then assign the stable id."""
    short = [getattr(record, name) or "" for name in _SHORT_FIELDS]
    try:
        joined = "\x1f".join(short)
    except TypeError:  # a spreadsheet cell that is not text
        joined = "\x1f".join(map(str, short))
    if joined.isascii() and not _needs_cleaning(joined):
        # The usual case, checked once for all the short fields: nothing but stripping to do.
        for name, value in zip(_SHORT_FIELDS, joined.split("\x1f"), strict=True):
            setattr(record, name, value.strip())
    else:
        for name, value in zip(_SHORT_FIELDS, short, strict=True):
            setattr(record, name, clean_text(value))
    if "\u2013" in record.pages or "--" in record.pages:
        record.pages = record.pages.replace("\u2013", "-").replace("--", "-")
    record.abstract = clean_text(record.abstract)
    # Two co-authors can share a name ("Wang, J"), so authors keep their repeats.
    record.authors = _clean_list(record.authors, unique=False)
    record.keywords = _clean_list(record.keywords)
    record.mesh = _clean_list(record.mesh)
    record.publication_types = _clean_list(record.publication_types)
    record.doi = normalise_doi(record.doi)
    record.pmid = normalise_pmid(record.pmid)
    if not record.id:
        record.id = record_id(record, position)
    return record
