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


# Notes that databases (Ovid MEDLINE and Embase, CINAHL, CENTRAL, EndNote) append to a title;
# one database's copy carries them and another's does not, so they are no part of the title.
_LINKED_NOTICE = re.compile(
    # "[Erratum appears in N Engl J Med. 2009 Jun 4;360(23):2487]", "[Comment in: ...]",
    # "[Retraction in ...]", "[Update of ...]", often cut short by the export (no closing bracket).
    r"\s*\.?\s*\[(?:erratum|errata|corrigendum|comment|retraction|retracted|update|updated|"
    r"expression of concern|summary for patients|corrected and republished|republished|reprinted|see also)"
    r"\b[^\]]*(?:\]|$)",
    re.IGNORECASE,
)
_TRAILING_NOTE = re.compile(
    r"(?:\s*(?:\[review\]|\[\d+ refs?\]|\[abstract[^\]]{0,40}\]|\[comment\]|"
    r"\[editorial\]|\[letter\]|\[corrected\]|\[\d{1,2}\]|\((?:provisional|structured) abstract\)|"
    r"\(multiple letters\)|\(author'?s? transl\)|\.{3} *includes discussion)\s*\.?)+\s*$",
    re.IGNORECASE,
)
# Ovid ends a record's title with its language ("LA: Chi") or the original title ("TO: ...",
# "<ORIGINAL> ..."); "[corrected]" marks a word a correction changed.
# Upper case only: "Response to: ..." is a title.
_ORIGINAL_TITLE = re.compile(r"\s+(?:(?:LA|TO|OT):\s|<ORIGINAL>).*$|\s*\[corrected\]")
_QUOTES = "\"'\u201c\u201d\u2018\u2019"


def strip_title_notes(title: str) -> str:
    """The title as published: database notes, language tags and wrapping quotes removed."""
    text = (title or "").strip()
    for _ in range(2):  # a quoted title can hold a bracketed one and the other way round
        if len(text) > 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1].strip()
        elif len(text) > 2 and text[0] in _QUOTES and text.count(text[0]) == 1:
            text = text[1:].strip()  # the closing quote lost where the database cut the title
    # The patterns only where they can match: this runs on every title of a million records.
    if "[" in text:
        text = _LINKED_NOTICE.sub("", text)
    if ": " in text or "<" in text or "[" in text:
        text = _ORIGINAL_TITLE.sub("", text)
    if text.rstrip(". ")[-1:] in ("]", ")") or text.endswith("discussion"):
        text = _TRAILING_NOTE.sub("", text)
    return text.strip()


def title_key(title: str) -> str:
    """A title for comparison: notes and language tags dropped, a bracketed (translated) title
    unwrapped."""
    text = strip_title_notes(title)
    text = _LANGUAGE_NOTE.sub(" ", text)
    text = text.strip().rstrip(".").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    elif text.startswith("[") and "]" not in text:
        text = text[1:]  # a translated title cut short by the export
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


_NOTICE_KINDS = (
    ("correction", re.compile(r"errat|corrigend|correction")),
    ("retraction", re.compile(r"retract|expression of concern")),
    ("reply", re.compile(r"reply|response")),
    ("comment", re.compile(r"comment|letter|editorial")),
)


def notice_kind(title_folded: str, publication_types: list[str]) -> str:
    """The kind of notice: 'correction' (erratum, corrigendum), 'retraction' (or expression of
    concern), 'reply' (reply, response) or 'comment' (comment, letter, editorial); '' for an
    article. Two notices of different kinds on one article (an erratum and a reply, which often
    carry the article's DOI) are different records."""
    match = _NOTICE.match(title_folded)
    if match:
        return _kind_of(match.group(0))
    for ptype in publication_types:
        if _NOTICE_TYPES.search(ptype) and not re.search(r"journal article|review", ptype, re.I):
            return _kind_of(ptype.lower())
    return ""


def _kind_of(words: str) -> str:
    return next((kind for kind, pattern in _NOTICE_KINDS if pattern.search(words)), "comment")


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


# Written after the surname or after the given names, or left out, by one database or another.
_SUFFIXES = frozenset(("jr", "sr", "junior", "senior", "ii", "iii", "iv", "2nd", "3rd"))
# Particles some databases keep in the surname and others move to the given names or drop
# ("van Hamont, D." / "van, Hamont D" / "Hamont, D. van"; "St Peter, S." / "Peter, S.").
_SURNAME_PARTICLES = frozenset(
    ("van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "le", "la", "dos", "des", "el")
    + ("st", "ten", "ter", "vander", "vanden", "zu", "al", "y")
)


def _core_surname(words: list[str]) -> str:
    """The surname's words without particles and suffixes (all of them if nothing else is left)."""
    core = [w for w in words if w not in _SURNAME_PARTICLES and w not in _SUFFIXES]
    return "".join(core or words)


def parse_author(name: str) -> Author:
    """'Smith, John A.' / 'Smith JA' / 'J. A. Smith' / 'Smith J.A.' -> Author('smith', 'j').

    Particles and suffixes are left out of the surname, wherever the database put them:
    'van Hamont, D.', 'van, Hamont D' and 'Hamont D van' are all Author('hamont', 'd')."""
    name = (name or "").strip()
    if not name:
        return Author("", "")
    if "," in name:
        surname, _, given = name.partition(",")
        surname_words, given_words = fold(surname).split(), fold(given).split()
        if (
            surname_words
            and all(w in _SURNAME_PARTICLES for w in surname_words)
            and len(given_words) >= 2
            and len(given_words[0]) >= 2
            and all(len(w) == 1 for w in given_words[1:])
        ):
            # "van, Hamont D" / "Le, Quintrec M": the surname's first word was cut off as a particle.
            surname_words, given_words = surname_words + given_words[:1], given_words[1:]
        given_words = [w for w in given_words if w not in _SUFFIXES]  # "Wright, Jr, T C"
        if len(given_words) > 1 and given_words[-1] in _SURNAME_PARTICLES:
            given_words = given_words[:-1]  # "Hamont, D. van"
        return Author(_core_surname(surname_words), "".join(given_words)[:1])
    words = fold(name).split()
    if not words:
        return Author("", "")
    # "Smith JA" / "Smith J A" / "Smith J.A.": surname first, then initials (upper case).
    raw_words = name.replace(".", " ").split()
    raw_words = [w for w in raw_words if w.lower() not in _SUFFIXES or w.isupper() and len(w) <= 2]
    trailing = 0
    while trailing < len(raw_words) - 1 and re.fullmatch(r"[A-Z]{1,3}", raw_words[-1 - trailing]):
        trailing += 1
    if trailing:
        surname_words = raw_words[: len(raw_words) - trailing]
        return Author(
            _core_surname(fold(" ".join(surname_words)).split()), raw_words[len(surname_words)][0].lower()
        )
    # "John A. Smith" / "J. A. Smith": the last word (with particles before it) is the surname.
    words = [w for w in words if w not in _SUFFIXES] or words
    surname = [words[-1]]
    i = len(words) - 2
    while i > 0 and words[i] in _PARTICLES:
        surname.insert(0, words[i])
        i -= 1
    return Author(_core_surname(surname), words[0][:1])


def authors_key(authors: list[str], limit: int = 8) -> str:
    """The surnames of the first authors, in order: what survives every author format."""
    names = []
    for author in authors[:limit]:
        parsed = parse_author(author)
        if parsed.surname:
            names.append(parsed.surname)
    return " ".join(names)


def swapped_authors_key(authors: list[str], limit: int = 8) -> str:
    """authors_key with each 'Surname, Given' read the other way round: the last full word of
    the given names as the surname ('Si Hyun, Kang' -> 'kang'). Names without a comma, or with
    only initials after it, keep their surname."""
    names = []
    for author in authors[:limit]:
        surname, comma, given = (author or "").partition(",")
        words = [w for w in fold(given).split() if len(w) >= 2 and w not in _SUFFIXES] if comma else []
        name = words[-1] if words else parse_author(author).surname
        if name:
            names.append(name)
    return " ".join(names)


def first_author(authors: list[str]) -> str:
    for author in authors[:3]:
        parsed = parse_author(author)
        if parsed.surname:
            return parsed.surname
    return ""


_JOURNAL_STOP = {"the", "of", "and", "in", "for", "on", "a", "an", "de", "la", "le", "und", "fur", "der"} | {
    # French, Spanish, Portuguese, Italian: "Annales francaises d'anesthesie et de reanimation"
    # is "Ann Fr Anesth Reanim", "Cirugia y cirujanos" is "Cir Cir".
    "d",
    "et",
    "y",
    "e",
    "du",
    "des",
    "di",
    "del",
    "della",
    "da",
    "do",
    "dos",
}
# Names a database adds beside the journal's: "PLoS ONE [Electronic Resource]".
_JOURNAL_MEDIUM = re.compile(r"\[(?:electronic resource|internet|serial online|online)\]", re.IGNORECASE)


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
    journal = _JOURNAL_MEDIUM.sub("", journal).strip().strip(_QUOTES).strip()
    # "HPB (Oxford)", "HPB : the official journal of ...", "Cardiology (Switzerland)": the name
    # is what stands before a parenthesis or a colon.
    names = [re.split(r"\s*[:=(\[]", journal, maxsplit=1)[0] or journal]
    # Other names of the journal, kept as alternatives after " | ": MEDLINE's "Ai zheng = Aizheng
    # = Chinese journal of cancer", Ovid's "Gan to Kagaku Ryoho [Japanese Journal of Cancer ...]".
    names += [part for part in re.split(r"\s+=\s+", journal)[1:]]
    names += re.findall(r"\[([^\]]{4,})\]", journal)
    if ":" in names[0] or ":" in journal.split("=")[0]:
        # "Clinical Medicine Insights: Circulatory, Respiratory and Pulmonary Medicine" in full.
        names.append(re.split(r"\s*[=(\[]", journal, maxsplit=1)[0].replace(":", " "))
    keys = []
    for name in names:
        key = " ".join(w for w in fold(name.replace("&", " and ")).split() if w not in _JOURNAL_STOP)
        if key and key not in keys:
            keys.append(key)
    return " | ".join(keys)


def journals_match(a: str, b: str) -> bool:
    """Full name against abbreviation: word for word, each word of one a prefix of the other's
    ('j am coll surg' ~ 'journal american college surgeons'), or an acronym ('jama'). The word
    counts must agree, or 'ann surg' would match 'annals surgical oncology'. A key holding other
    names of the journal (' | ', see journal_key) matches when any of its names does."""
    if not a or not b:
        return False
    if a == b:
        return True
    if " | " in a or " | " in b:
        return any(_names_match(x, y) for x in a.split(" | ") for y in b.split(" | "))
    return _names_match(a, b)


def _names_match(a: str, b: str) -> bool:
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


# A supplement numbered in roman numerals prefixes its pages ("viii108" in Annals of Oncology,
# where another database writes "108"): the numeral goes, the page stays. One letter ("e43268",
# "S108") is kept: it tells electronic and supplement pages from the journal's own.
_ROMAN_SUPPLEMENT = r"(?:(?<![A-Za-z])[ivxIVX]{2,5}(?=\d))?"
_PAGES = re.compile(
    _ROMAN_SUPPLEMENT
    + r"([A-Za-z]?)(\d+)\s*(?:[-\u2010-\u2015]+\s*"
    + _ROMAN_SUPPLEMENT
    + r"([A-Za-z]?)(\d+))?"
)


# Ovid writes a supplement's or a part's number where the pages go ("Suppl-12" for S109-S112,
# "pt-8"): no page at all.
_NOT_PAGES = re.compile(r"^\s*(?:suppl?|supplement|pt|part)\.?[\s-]*\d+\s*$", re.IGNORECASE)


def pages_key(pages: str) -> tuple[str, str]:
    """(first page, last page) with abbreviated ranges expanded: '1097-102' -> ('1097', '1102')."""
    if _NOT_PAGES.match(pages or ""):
        return "", ""
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
