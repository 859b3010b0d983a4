"""Which record a PDF is the report of: identifiers first, then the title where a title stands.

A wrong match is worse than none, so a PDF is matched with certainty only when
- a DOI or PMID of exactly one record is in its text or metadata and that record's title is
  there too (a DOI alone may be one the article cites), or
- one record's whole title stands in the first pages on lines of its own (it starts a line,
  ends one, and the next line does not carry it on), and its first author (or, with no
  authors, its year) is there as well.
Titles are compared with every letter and digit in order and nothing else (case, accents,
hyphenation and line breaks ignored), and a match must start and end on word boundaries: so
"... Part I" is not found in a PDF of "... Part II", nor "study 1" in "study 12", nor a title in
a longer one. Anything less certain (two candidates, a title inside a longer line, a close but
not equal title, a DOI without its title) goes to a person (`fulltext attach --review`); a PDF
with nothing close is reported as unmatched.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

from rapidfuzz import fuzz

from ..normalise import first_author, fold, strip_title_notes, title_key
from ..records import Record, normalise_doi

ATTACH = "attach"
REVIEW = "review"
NONE = "none"
# A close title (rapidfuzz partial ratio of the folded titles) worth showing a person.
CLOSE = 80.0
# A title shorter than this (letters and digits) or of fewer words is too generic
# ("Editorial", "Reply") to identify a report on its own.
MIN_TITLE_CHARS = 20
MIN_TITLE_WORDS = 3
# How many of the records sharing most title words with a PDF are scored for closeness.
FUZZY_SCORED = 8
_DOI = re.compile(r"10\.\d{4,9}/[^\s\"'<>]+")
_PMID = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.IGNORECASE)
_CONNECTORS = frozenset(
    "a an and at by for from in into of on or the to versus vs with without among after before during".split()
)


@dataclass
class Candidate:
    record_id: str
    title: str
    score: float  # 0-100: how close the record's title is to the PDF's first pages
    exact: bool = False  # the whole title on lines of its own
    by_id: str = ""  # "doi" or "pmid" when the PDF names the record's identifier
    author: bool = False
    year: bool = False
    why: str = ""
    main_only: bool = False  # only the record's main title stands in the PDF (no subtitle)

    def to_dict(self) -> dict[str, object]:
        return {
            "record_id": self.record_id,
            "title": self.title,
            "score": round(self.score, 1),
            "exact_title": self.exact,
            "identifier": self.by_id,
            "first_author_found": self.author,
            "year_found": self.year,
        }


@dataclass
class Match:
    outcome: str  # attach, review or none
    record_id: str = ""
    reason: str = ""
    title_found: bool = False
    candidates: list[Candidate] = field(default_factory=list)
    pdf_title: list[str] = field(default_factory=list)  # the PDF's own title line(s), for a person


@dataclass
class _Target:
    record: Record
    compact: str  # the title's letters and digits
    words: frozenset[str]
    surname: str
    doi: str
    pmid: str
    n_words: int
    main: str = ""  # the main title's letters and digits, when the title has a subtitle


class Matcher:
    """The records of the full-text stage, prepared once for matching many PDFs."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.targets: list[_Target] = []
        self.by_doi: dict[str, list[int]] = {}
        self.by_pmid: dict[str, list[int]] = {}
        self.by_word: dict[str, list[int]] = {}
        self.by_main: dict[str, list[int]] = {}
        for record in records:
            folded = fold(strip_title_notes(record.title))
            words = frozenset(w for w in folded.split() if len(w) >= 4)
            index = len(self.targets)
            target = _Target(
                record,
                folded.replace(" ", ""),
                words,
                first_author(record.authors),
                normalise_doi(record.doi),
                record.pmid.strip(),
                len(folded.split()),
            )
            parts = title_key(record.title).split("  ")
            main = parts[0].replace(" ", "")
            if len(parts) == 2 and len(main) >= MIN_TITLE_CHARS and len(parts[0].split()) >= MIN_TITLE_WORDS:
                target.main = main
                self.by_main.setdefault(main, []).append(index)
            self.targets.append(target)
            if target.doi:
                self.by_doi.setdefault(target.doi, []).append(index)
            if target.pmid:
                self.by_pmid.setdefault(target.pmid, []).append(index)
            for word in words:
                self.by_word.setdefault(word, []).append(index)

    def match(self, text: str, metadata: dict[str, str] | None = None) -> Match:
        """The record the PDF whose first pages hold `text` (and `metadata`) belongs to."""
        metadata = metadata or {}
        page = _Page(text)
        ids = self._identified(text + "\n" + "\n".join(metadata.values()))
        meta_title = fold(metadata.get("title", "")).replace(" ", "")
        candidates: dict[int, Candidate] = {}

        def candidate(index: int, close: bool = True) -> Candidate | None:
            if index not in candidates:
                target = self.targets[index]
                exact, why = page.title_stands(target.compact)
                if not exact and meta_title and target.compact and meta_title == target.compact:
                    exact, why = True, ""
                if not exact and not close:
                    return None
                score = 100.0 if exact else page.closeness(target)
                candidates[index] = Candidate(
                    target.record.id,
                    target.record.title,
                    score,
                    exact,
                    author=bool(target.surname) and target.surname in page.words,
                    year=bool(target.record.year) and str(target.record.year) in page.words,
                    why=why,
                )
            return candidates[index]

        for index, kind in ids.items():
            candidate(index).by_id = kind  # type: ignore[union-attr]
        # Every record whose title's words are all there is looked up exactly (a cheap find);
        # only the few sharing most words are scored for closeness (a fuzzy alignment).
        for rank, (index, _share) in enumerate(page.sharing_words(self)):
            candidate(index, close=rank < FUZZY_SCORED)
        # A PDF titled with a record's main title alone (one source dropped the subtitle) may be
        # its report or another article of the series: a person's call, never an attachment.
        title_lines: list[str] = []
        for index in page.main_titles(self):
            found = candidate(index)
            stands, _ = page.title_stands(self.targets[index].main)
            if found is None or found.exact or not stands:
                continue
            found.main_only, found.score = True, max(found.score, CLOSE)
            found.why = "the PDF's title is the record's main title alone, without its subtitle"
            title_lines = title_lines or page.lines_of(self.targets[index].main)
        # Among main titles alone, the record whose first author is there first.
        shown = sorted(
            candidates.values(),
            key=lambda c: (-c.score, not c.by_id, c.main_only and not c.author, c.record_id),
        )
        shown = [c for c in shown if c.by_id or c.score >= CLOSE]
        decided = _decide(shown, {self.targets[i].record.id: self.targets[i] for i in candidates})
        decided.pdf_title = title_lines or page.lines_of_best(decided.record_id, self) or page.lines[:3]
        return decided

    def _identified(self, text: str) -> dict[int, str]:
        found: dict[int, str] = {}
        for raw in _DOI.findall(text):
            doi = normalise_doi(raw)
            for index in self._doi_prefixes(doi):
                found[index] = "doi"
        for pmid in _PMID.findall(text):
            for index in self.by_pmid.get(pmid.lstrip("0"), []) + self.by_pmid.get(pmid, []):
                found.setdefault(index, "pmid")
        return found

    def _doi_prefixes(self, doi: str) -> list[int]:
        """Records whose DOI is `doi`, or `doi` with words glued to its end by the extraction
        ("10.1145/1542476.1542528Permission"): the DOI must end where a capital or a space
        starts in the original, which normalise_doi lowered, so any record DOI that is a prefix
        ending before a letter is accepted only when the rest starts with a letter."""
        if doi in self.by_doi:
            return self.by_doi[doi]
        for cut in range(len(doi) - 1, 7, -1):
            if doi[cut].isalpha() and not doi[cut - 1].isalpha() and doi[:cut] in self.by_doi:
                return self.by_doi[doi[:cut]]
        return []


def _decide(shown: list[Candidate], targets: dict[str, _Target]) -> Match:
    """The outcome for one PDF from its candidates (best first)."""
    identified = [c for c in shown if c.by_id]
    exact = [c for c in shown if c.exact]
    if len(identified) == 1:
        chosen = identified[0]
        if exact and chosen not in exact:
            return Match(REVIEW, chosen.record_id, _conflict(chosen, exact[0]), False, shown)
        if chosen.exact or chosen.score >= 90:
            return Match(ATTACH, chosen.record_id, f"{chosen.by_id} and title", True, shown)
        return Match(
            REVIEW,
            chosen.record_id,
            f"the PDF names the record's {chosen.by_id.upper()} but not its title (it may only cite it)",
            False,
            shown,
        )
    if len(identified) > 1:
        both = [c for c in identified if c.exact]
        if len(both) == 1 and len(exact) == 1:
            return Match(ATTACH, both[0].record_id, f"{both[0].by_id} and title", True, shown)
        return Match(
            REVIEW, identified[0].record_id, "the PDF names identifiers of several records", False, shown
        )
    if len(exact) > 1:
        return Match(REVIEW, exact[0].record_id, "the titles of several records are in the PDF", True, shown)
    if len(exact) == 1:
        chosen = exact[0]
        target = targets[chosen.record_id]
        if len(target.compact) < MIN_TITLE_CHARS or target.n_words < MIN_TITLE_WORDS:
            return Match(
                REVIEW, chosen.record_id, "the title is too short to identify a report alone", True, shown
            )
        if target.surname and not chosen.author:
            return Match(REVIEW, chosen.record_id, "the title is there, the first author is not", True, shown)
        if not target.surname and not chosen.year:
            return Match(
                REVIEW, chosen.record_id, "the title is there; no author or year to confirm it", True, shown
            )
        return Match(
            ATTACH,
            chosen.record_id,
            "title and " + ("first author" if chosen.author else "year"),
            True,
            shown,
        )
    if shown:
        best = shown[0]
        reason = best.why or f"a close title ({best.score:.0f}/100), not the same"
        return Match(REVIEW, best.record_id, reason, False, shown)
    return Match(NONE, "", "no record's identifier or title is in its first pages", False, [])


def _conflict(identified: Candidate, titled: Candidate) -> str:
    return (
        f"the PDF names {identified.record_id}'s {identified.by_id.upper()} but holds the title of "
        f"{titled.record_id}"
    )


class _Page:
    """The first pages' text as one string of letters and digits, with where each word and
    line starts and ends, for title lookups."""

    def __init__(self, text: str) -> None:
        self.lines: list[str] = []
        parts: list[str] = []
        self.word_starts: set[int] = set()
        self.word_ends: set[int] = set()
        self.line_starts: dict[int, int] = {}  # compact offset -> line number
        self.line_ends: dict[int, int] = {}
        words: set[str] = set()
        position = 0
        for line in text.splitlines():
            tokens = fold(line).split()
            if not tokens:
                continue
            number = len(self.lines)
            self.lines.append(line)
            self.line_starts[position] = number
            for token in tokens:
                self.word_starts.add(position)
                position += len(token)
                self.word_ends.add(position)
                parts.append(token)
                words.add(token)
            self.line_ends[position] = number
        self.compact = "".join(parts)
        self.line_tokens = [fold(line).split() for line in self.lines]
        self.words = words
        self._folded_head = ""

    def title_stands(self, title: str) -> tuple[bool, str]:
        """Whether `title` (letters and digits) stands in the text on lines of its own; when it
        is there but not standing alone, why not."""
        if not title:
            return False, ""
        why = ""
        start = self.compact.find(title)
        while start >= 0:
            end = start + len(title)
            if start in self.word_starts and (end in self.word_ends or self._footnote_mark(end, title)):
                problem = self._alone(start, end, title)
                if not problem:
                    return True, ""
                why = why or problem
            start = self.compact.find(title, start + 1)
        return False, why

    def _footnote_mark(self, end: int, title: str) -> bool:
        """A title glued to a footnote digit ("Languages1"): the rest of the line is digits."""
        if not title[-1].isalpha():
            return False
        rest_end = min((e for e in self.line_ends if e > end), default=len(self.compact))
        rest = self.compact[end:rest_end]
        return 0 < len(rest) <= 2 and rest.isdigit() and rest_end in self.word_ends

    def _alone(self, start: int, end: int, title: str) -> str:
        if start not in self.line_starts:
            return "the title is inside a longer line (a longer title, or a citation?)"
        last = max((n for e, n in self.line_ends.items() if e >= end and e - end <= 2), default=None)
        if last is None:
            return "the title runs on into more words on its line (a longer title?)"
        if last + 1 < len(self.lines):
            following = self.lines[last + 1].lstrip()
            tokens = self.line_tokens[last + 1]
            # "in adolescents", ": a trial", "And Their Carers"; not an author's initial ("A. Smith").
            article = tokens[0] == "a" and re.match(r"[Aa] [a-z]", following) is not None
            connector = len(tokens[0]) > 1 and tokens[0] in _CONNECTORS or article
            if following[:1].islower() or following[:1] in ":-\u2013\u2014(" or connector:
                return "the line after the title seems to carry it on (a longer title?)"
        return ""

    def main_titles(self, matcher: Matcher) -> list[int]:
        """Records whose main title is the text of one to three lines of the first ones."""
        found: list[int] = []
        compact = ["".join(tokens) for tokens in self.line_tokens[:60]]
        for first in range(len(compact)):
            for last in range(first + 1, min(first + 3, len(compact)) + 1):
                found.extend(matcher.by_main.get("".join(compact[first:last]), ()))
        return list(dict.fromkeys(found))

    def lines_of(self, title: str) -> list[str]:
        """The lines `title` (letters and digits) stands on, [] when it does not."""
        start = self.compact.find(title)
        while start >= 0:
            end = start + len(title)
            last = max((n for e, n in self.line_ends.items() if e >= end and e - end <= 2), default=None)
            if start in self.line_starts and last is not None:
                return [line.strip() for line in self.lines[self.line_starts[start] : last + 1]]
            start = self.compact.find(title, start + 1)
        return []

    def lines_of_best(self, record_id: str, matcher: Matcher) -> list[str]:
        target = next((t for t in matcher.targets if t.record.id == record_id), None)
        return self.lines_of(target.compact) if target is not None else []

    def sharing_words(self, matcher: Matcher) -> list[tuple[int, float]]:
        """Records with at least 60% of their title's words in the text, most first (cheap
        blocking), with that share."""
        counts = Counter(chain.from_iterable(matcher.by_word.get(word, ()) for word in self.words))
        shares = ((i, n / len(matcher.targets[i].words)) for i, n in counts.items())
        return sorted(((i, share) for i, share in shares if share >= 0.6), key=lambda item: -item[1])

    def closeness(self, target: _Target) -> float:
        if not self._folded_head:
            self._folded_head = " ".join(" ".join(t) for t in self.line_tokens)[:8000]
        title = fold(strip_title_notes(target.record.title))
        return float(fuzz.partial_ratio(title, self._folded_head)) if title else 0.0
