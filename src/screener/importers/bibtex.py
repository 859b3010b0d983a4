"""BibTeX exports (Scopus, Zotero, JabRef, Google Scholar), parsed by bibtexparser 2."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import bibtexparser

from ..errors import ImportFormatError
from ..records import Record, normalise_pmid, parse_year

_AND = re.compile(r"\s+and\s+", re.IGNORECASE)

_COMBINING = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
}
_SYMBOL_ACCENT = re.compile(r"\\([\"'`^~=.])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))")
_LETTER_ACCENT = re.compile(r"\\([uvHckr])(?:\s*\{\s*(\\?[A-Za-z])\s*\}|\s+(\\?[A-Za-z]))")
_LETTERS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "sigma": "σ",
    "tau": "τ",
    "omega": "ω",
    "Delta": "Δ",
    "textendash": "–",
    "textemdash": "—",
    "textregistered": "®",
    "texttrademark": "™",
    "pm": "±",
    "times": "×",
    "leq": "≤",
    "geq": "≥",
    "le": "≤",
    "ge": "≥",
    "textdegree": "°",
}
_COMMAND = re.compile(r"\\([A-Za-z]+)(?:\{\}|[ \t]+|(?=[^A-Za-z])|$)")  # eats the space after
_WRAPPER = re.compile(
    r"\\(?:textit|textbf|emph|textrm|textsc|mathrm|mathit|text|textsuperscript|"
    r"textsubscript|mbox)\s*\{([^{}]*)\}"
)


def _accent(match: re.Match[str]) -> str:
    base = match.group(2) or match.group(3)
    base = {"\\i": "i", "\\j": "j"}.get(base, base)
    return unicodedata.normalize("NFC", base + _COMBINING[match.group(1)])


def delatex(text: str) -> str:
    """Decode the LaTeX found in bibliographic exports: accents, escapes, letters, braces."""
    if "\\" not in text and "{" not in text and "$" not in text:
        return text
    text = _WRAPPER.sub(r"\1", text)
    text = _SYMBOL_ACCENT.sub(_accent, text)
    text = _LETTER_ACCENT.sub(_accent, text)
    text = re.sub(r"\\([&%_$#{}])", r"\1", text)
    text = _COMMAND.sub(lambda m: _LETTERS.get(m.group(1), m.group(0)), text)
    text = text.replace("$", "").replace("{", "").replace("}", "").replace("~", " ")
    return text


def _parse_quietly(text: str) -> bibtexparser.Library:
    """bibtexparser logs each entry it cannot parse to stderr; the error raised here says it."""
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return bibtexparser.parse_string(text)
    finally:
        logger.setLevel(level)


# Text after an entry that reads as its fields (`, author = {...}`): a stray '}' closed it early.
_LEFT_FIELDS = re.compile(r"\s*(?:,|[A-Za-z][\w-]*\s*=\s*[{\"\w])")


def _left_over(block: object, entry: object, path: str | Path) -> str | None:
    """A warning when `block` (text outside any entry) is the rest of `entry`'s fields."""
    raw = str(getattr(block, "raw", "") or "")
    if not isinstance(entry, bibtexparser.model.Entry) or not _LEFT_FIELDS.match(raw):
        return None
    names = re.findall(r"(?:^|,)\s*([A-Za-z][\w-]*)\s*=", raw, re.MULTILINE)
    lost = ", ".join(dict.fromkeys(names)) or "text"
    line = (getattr(block, "start_line", 0) or 0) + 1
    return (
        f"{path}:{line}: BibTeX entry {entry.key!r} ends early: a stray '}}' on this line closes it, "
        f"so what follows ({lost}) is not part of the record; fix the braces and import the file again"
    )


def parse(text: str, path: str | Path, warnings: list[str] | None = None) -> list[Record]:
    # bibtexparser's LatexDecodingMiddleware (pylatexenc) takes ~13 ms an entry; exports only
    # use accents, escapes and a few commands, which `delatex` handles a hundred times faster.
    library = _parse_quietly(text)
    entries = []
    previous: object = None
    for block in library.blocks:
        if isinstance(block, bibtexparser.model.ImplicitComment) and warnings is not None:
            if (warning := _left_over(block, previous, path)) is not None:
                warnings.append(warning)
        previous = block
        if isinstance(block, bibtexparser.model.Entry):
            entries.append(block)
        elif isinstance(block, bibtexparser.model.DuplicateFieldKeyBlock):
            # Scopus repeats keys such as funding_details; the first value of each is kept.
            entries.append(block.ignore_error_block)
        elif isinstance(block, bibtexparser.model.ParsingFailedBlock):
            reason = str(getattr(block.error, "abort_reason", "") or block.error or "").strip().rstrip(".")
            if "end of file" in reason.lower():
                raise ImportFormatError(
                    "the last BibTeX entry (starting here) is not closed: the file looks cut off",
                    path=path,
                    line=(block.start_line or 0) + 1,
                    hint="export it again, or close the entry with '}'",
                )
            raise ImportFormatError(
                f"a BibTeX entry cannot be parsed ({reason or type(block).__name__})",
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
            return delatex(str(value)).strip()
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
        publication_types=[entry.entry_type]
        + ([_field(fields, "document_type")] if fields.get("document_type") else []),
        language=_field(fields, "language"),
        url=url,
    )
