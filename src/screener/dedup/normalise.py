"""Normalising bibliographic fields for matching: one comparable key per field.

Everything here is a plain function of one value, so each can be tested on its own and the
same rules serve blocking, scoring and the human review of uncertain pairs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ο": "omicron",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "µ": "mu",
}
_GREEK_RE = re.compile("|".join(GREEK))
_TAGS = re.compile(r"</?[A-Za-z][^<>]*>")
# MEDLINE marks the language of a translated title; Embase and others add similar notes.
_LANGUAGES = (
    "english|german|french|japanese|chinese|spanish|italian|russian|portuguese|polish|dutch|"
    "korean|czech|hungarian|turkish|swedish|danish|norwegian|finnish|hebrew|greek|croatian|"
    "serbian|slovak|slovenian|romanian|bulgarian|ukrainian|persian|arabic|lithuanian|estonian"
)
_LANGUAGE_NOTE = re.compile(
    r"\[(?:article|text|abstract)? ?in [a-z ,]+\]|\((?:article|text) in [a-z ,]+\)|\[author'?s? transl\]"
    # Embase ends a translated title with its language: "... [Japanese]".
    rf"|\[(?:{_LANGUAGES})(?:,? (?:{_LANGUAGES}))*\]\s*\.?\s*$",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, Greek letters as words, no diacritics, no markup, only [a-z0-9 ]."""
    if not text:
        return ""
    if "<" in text:
        text = _TAGS.sub(" ", text)
    text = text.lower()
    if not text.isascii():
        text = _GREEK_RE.sub(lambda m: f" {GREEK[m.group(0)]} ", text)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("œ", "oe")
        text = text.replace("ł", "l").replace("đ", "d").replace("ı", "i")
    return _NOT_WORD.sub(" ", text).strip()


def title_key(title: str) -> str:
    """A title for comparison: language notes dropped, a bracketed (translated) title unwrapped."""
    text = (title or "").strip()
    text = _LANGUAGE_NOTE.sub(" ", text)
    text = text.strip().rstrip(".").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    # The main title and the subtitle stay apart by two spaces, so the main title can be
    # compared alone (one database often drops the subtitle).
    parts = re.split(r"\s*(?:[:?]|\s-|\.)\s+", text, maxsplit=1)
    if len(parts) == 2 and fold(parts[0]) and fold(parts[1]):
        return fold(parts[0]) + "  " + fold(parts[1])
    return fold(text)


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
_PART = re.compile(r"\b(?:part|pt|paper|study|phase|series)\s+([ivx]{1,4}|\d{1,2})\b")


def part_number(title_folded: str) -> str:
    """'Part II' / 'part 2' -> '2': parts of a series are different articles."""
    match = _PART.search(title_folded)
    if not match:
        return ""
    value = match.group(1)
    return str(_ROMAN.get(value, value))


_NOTICE = re.compile(
    r"^(?:erratum|errata|corrigendum|corrigenda|correction|correction to|retraction|retracted|"
    r"retraction note|notice of retraction|expression of concern|comment on|comments on|"
    r"commentary on|reply|reply to|response to|in reply|letter to the editor|editorial comment|"
    r"author correction|publisher correction)\b"
)
_NOTICE_TYPES = re.compile(
    r"erratum|correction|retraction|comment|letter|editorial|expression of concern|reply",
    re.IGNORECASE,
)
_PROTOCOL = re.compile(r"\bprotocol\b|\bstudy design and rationale\b|\bdesign and methods of\b")
_CONFERENCE_TYPES = re.compile(r"conference|meeting abstract|congress|proceedings", re.IGNORECASE)
_CONFERENCE_VENUE = re.compile(
    r"\b(?:abstracts?|meeting|congress|conference|symposium|annual scientific|proceedings)\b"
)


def notice_kind(title_folded: str, publication_types: list[str]) -> str:
    """'notice' for errata, corrections, retractions, comments and replies; '' otherwise."""
    if _NOTICE.match(title_folded):
        return "notice"
    for ptype in publication_types:
        if _NOTICE_TYPES.search(ptype) and not re.search(r"journal article|review", ptype, re.I):
            return "notice"
    return ""


def is_protocol(title_folded: str) -> bool:
    return bool(_PROTOCOL.search(title_folded))


def is_conference(journal_folded: str, publication_types: list[str], pages: str) -> bool:
    """A conference abstract (in a supplement or proceedings), not a journal article."""
    if any(_CONFERENCE_TYPES.search(p) for p in publication_types):
        return True
    if _CONFERENCE_VENUE.search(journal_folded):
        return True
    return False


@dataclass(frozen=True)
class Author:
    surname: str
    initial: str


_PARTICLES = {
    "van",
    "von",
    "de",
    "der",
    "den",
    "del",
    "della",
    "di",
    "da",
    "du",
    "le",
    "la",
    "dos",
    "des",
    "el",
}


def parse_author(name: str) -> Author:
    """'Smith, John A.' / 'Smith JA' / 'J. A. Smith' / 'Smith J.A.' -> Author('smith', 'j')."""
    name = (name or "").strip()
    if not name:
        return Author("", "")
    if "," in name:
        surname, _, given = name.partition(",")
        surname_f, given_f = fold(surname), fold(given)
        return Author(surname_f.replace(" ", ""), given_f[:1])
    words = fold(name).split()
    if not words:
        return Author("", "")
    # "Smith JA" / "Smith J A" / "Smith J.A.": surname first, then initials (upper case).
    raw_words = name.replace(".", " ").split()
    trailing = 0
    while trailing < len(raw_words) - 1 and re.fullmatch(r"[A-Z]{1,3}", raw_words[-1 - trailing]):
        trailing += 1
    if trailing:
        surname_words = raw_words[: len(raw_words) - trailing]
        return Author(
            fold(" ".join(surname_words)).replace(" ", ""), raw_words[len(surname_words)][0].lower()
        )
    # "John A. Smith" / "J. A. Smith": the last word (with particles before it) is the surname.
    surname = [words[-1]]
    i = len(words) - 2
    while i > 0 and words[i] in _PARTICLES:
        surname.insert(0, words[i])
        i -= 1
    return Author("".join(surname), words[0][:1])


def authors_key(authors: list[str], limit: int = 8) -> str:
    """The surnames of the first authors, in order: what survives every author format."""
    names = []
    for author in authors[:limit]:
        parsed = parse_author(author)
        if parsed.surname:
            names.append(parsed.surname)
    return " ".join(names)


def first_author(authors: list[str]) -> str:
    for author in authors[:3]:
        parsed = parse_author(author)
        if parsed.surname:
            return parsed.surname
    return ""


_JOURNAL_STOP = {"the", "of", "and", "in", "for", "on", "a", "an", "de", "la", "le", "und", "fur", "der"}


_CONFERENCE_SUFFIX = re.compile(r"\.\s*(?:conference|congress|meeting)\b.*$", re.IGNORECASE)
# Words a database adds to a journal's name for its supplements.
_SUPPLEMENT_WORDS = frozenset(
    ("supplement", "supplements", "suppl", "supplementum", "abstracts", "proceedings")
)


def journal_key(journal: str) -> str:
    """Journal words without stop words: 'The Journal of Surgery' -> 'journal surgery'.

    Embase names a supplement's meeting after the journal ("Circulation. Conference: ..."): the
    journal is what comes before."""
    journal = _CONFERENCE_SUFFIX.sub("", journal or "")
    # "HPB (Oxford)", "HPB : the official journal of ...", "Cardiology (Switzerland)": the name
    # is what stands before a parenthesis or a colon.
    journal = re.split(r"\s*[:=(\[]", journal, maxsplit=1)[0] or journal
    return " ".join(w for w in fold(journal.replace("&", " and ")).split() if w not in _JOURNAL_STOP)


def journals_match(a: str, b: str) -> bool:
    """Full name against abbreviation: word for word, each word of one a prefix of the other's
    ('j am coll surg' ~ 'journal american college surgeons'), or an acronym ('jama'). The word
    counts must agree, or 'ann surg' would match 'annals surgical oncology'."""
    if not a or not b:
        return False
    if a == b:
        return True
    words_a, words_b = a.split(), b.split()
    if len(words_a) == 1 and len(words_b) >= 3 and words_a[0] == "".join(w[0] for w in words_b):
        return True
    if len(words_b) == 1 and len(words_a) >= 3 and words_b[0] == "".join(w[0] for w in words_a):
        return True
    if len(words_a) != len(words_b):
        short, long_ = sorted((words_a, words_b), key=len)
        extra = long_[len(short) :]
        if not all(w in _SUPPLEMENT_WORDS for w in extra):
            return False
        words_a, words_b = short, long_[: len(short)]
    return all(x.startswith(y) or y.startswith(x) for x, y in zip(words_a, words_b, strict=True))


_PAGES = re.compile(r"([A-Za-z]?)(\d+)\s*(?:[-\u2010-\u2015]+\s*([A-Za-z]?)(\d+))?")


def pages_key(pages: str) -> tuple[str, str]:
    """(first page, last page) with abbreviated ranges expanded: '1097-102' -> ('1097', '1102')."""
    match = _PAGES.search(pages or "")
    if not match:
        return "", ""
    prefix, first, _, last = (
        match.group(1).lower(),
        match.group(2).lstrip("0") or "0",
        match.group(3),
        match.group(4),
    )
    if last is None:
        return prefix + first, ""
    last = last.lstrip("0") or "0"
    if len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return prefix + first, prefix + last


def number_key(value: str) -> str:
    """Volume or issue: the first run of digits ('Vol. 13 (Suppl 2)' -> '13')."""
    match = re.search(r"\d+", value or "")
    return match.group(0).lstrip("0") if match else ""
