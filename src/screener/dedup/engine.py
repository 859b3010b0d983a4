"""Finding duplicate records: prepare, block, score, decide, cluster, merge.

- `prepare` turns records into arrays of normalised keys (normalise.py).
- `candidate_pairs` blocks: exact identifiers, plus sorted neighbourhoods over three orders
  (title, reversed title, first author + year), so the pairs compared grow linearly with the
  number of records instead of quadratically.
- `score_pairs` compares every candidate pair with rapidfuzz, vectorised over all pairs and
  all cores (`process.cpdist`).
- `decide` applies explicit rules, each pair getting a label (duplicate / uncertain / distinct)
  and a one-line explanation; false merges drop studies from a review, so every rule that
  merges asks for agreement on more than one field, and known look-alikes (errata, comments,
  conference abstracts, protocols, parts of a series, same title in other years) are vetoed.
- `cluster` joins duplicates by union-find, honouring human decisions: a pair a person called
  different is never in one cluster, even through a chain of other pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import normalise as N
from ..records import Record

DUPLICATE, UNCERTAIN, DISTINCT = 2, 1, 0
LABELS = {DUPLICATE: "duplicate", UNCERTAIN: "uncertain", DISTINCT: "distinct"}


@dataclass
class Prepared:
    """Normalised keys of n records, as parallel arrays (index = position in `records`)."""

    records: list[Record]
    title: np.ndarray
    main_title: np.ndarray  # the title without its subtitle
    numbers: np.ndarray  # the numbers in the title, in order
    title_reversed: np.ndarray
    authors: np.ndarray
    first_author: np.ndarray
    year: np.ndarray  # int, -1 unknown
    journal: np.ndarray
    volume: np.ndarray
    issue: np.ndarray
    first_page: np.ndarray
    last_page: np.ndarray
    doi: np.ndarray
    pmid: np.ndarray
    abstract: np.ndarray
    notice: np.ndarray  # the kind of notice (normalise.notice_kind), "" for an article
    protocol: np.ndarray  # bool
    conference: np.ndarray  # bool
    part: np.ndarray
    # bool: other records with this DOI have different titles (a supplement's DOI), so a record
    # without a title cannot be told to be any one of them
    doi_shared: np.ndarray

    def __len__(self) -> int:
        return len(self.records)


def prepare(records: Sequence[Record]) -> Prepared:
    n = len(records)
    cols: dict[str, list] = {
        k: []
        for k in (
            "title",
            "main_title",
            "numbers",
            "title_reversed",
            "authors",
            "first_author",
            "year",
            "journal",
            "volume",
            "issue",
            "first_page",
            "last_page",
            "doi",
            "pmid",
            "abstract",
            "notice",
            "protocol",
            "conference",
            "part",
        )
    }
    for r in records:
        title = N.title_key(r.title)
        journal = N.journal_key(r.journal or r.journal_abbrev)
        first, last = N.pages_key(r.pages)
        cols["title"].append(title)
        cols["main_title"].append(title.split("  ")[0])
        cols["numbers"].append(" ".join(_DIGITS.findall(title)))
        cols["title_reversed"].append(title[::-1])
        cols["authors"].append(N.authors_key(r.authors))
        cols["first_author"].append(N.first_author(r.authors))
        cols["year"].append(r.year if r.year else -1)
        cols["journal"].append(journal)
        cols["volume"].append(N.number_key(r.volume))
        cols["issue"].append(N.number_key(r.issue))
        cols["first_page"].append(first)
        cols["last_page"].append(last)
        cols["doi"].append(r.doi)
        cols["pmid"].append(r.pmid)
        cols["abstract"].append(N.fold(r.abstract[:600]) if r.abstract else "")
        cols["notice"].append(N.notice_kind(title, r.publication_types))
        cols["protocol"].append(N.is_protocol(title))
        cols["conference"].append(N.is_conference(N.fold(r.journal), r.publication_types, r.pages))
        cols["part"].append(N.part_number(title))
    if _issues_are_record_numbers(cols["issue"]):
        cols["issue"] = [""] * n
    arrays = {}
    for key, values in cols.items():
        if key == "year":
            arrays[key] = np.array(values, dtype=np.int32).reshape(n)
        elif key in ("protocol", "conference"):
            arrays[key] = np.array(values, dtype=bool).reshape(n)
        else:
            arrays[key] = np.array(values, dtype=object).reshape(n)
    titles_of_doi: dict[str, set[str]] = {}
    for doi, title in zip(cols["doi"], cols["title"], strict=True):
        if doi and title:
            titles_of_doi.setdefault(doi, set()).add(title)
    arrays["doi_shared"] = np.array(
        [bool(doi) and len(titles_of_doi.get(doi, ())) > 1 for doi in cols["doi"]], dtype=bool
    ).reshape(n)
    return Prepared(records=list(records), **arrays)


def _issues_are_record_numbers(issues: list[str]) -> bool:
    """Some EndNote exports fill the issue field with the library's record number: a different,
    large number on every record, which would make every pair of copies disagree. Real issue
    numbers repeat (most are 1 to 12) across a library's records."""
    present = [int(value) for value in issues if value]
    if len(present) < 50:
        return False
    distinct = len(set(present)) / len(present)
    return distinct >= 0.9 and sorted(present)[len(present) // 2] > 100


# -- blocking ----------------------------------------------------------------------------


def _neighbourhood(order: np.ndarray, window: int) -> np.ndarray:
    """Pairs of records at most `window` apart in `order`."""
    parts = [np.stack([order[:-d], order[d:]], axis=1) for d in range(1, min(window, len(order) - 1) + 1)]
    return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.int64)


def _exact_blocks(keys: np.ndarray, max_block: int) -> np.ndarray:
    """All pairs within groups of equal non-empty keys (groups larger than max_block skipped)."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            groups.setdefault(key, []).append(i)
    pairs = []
    for members in groups.values():
        if 1 < len(members) <= max_block:
            m = np.array(members)
            a, b = np.triu_indices(len(m), k=1)
            pairs.append(np.stack([m[a], m[b]], axis=1))
    return np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)


def candidate_pairs(p: Prepared, window: int = 10, max_block: int = 60) -> np.ndarray:
    """Candidate pairs (i < j), unique, from identifier blocks and sorted neighbourhoods."""
    n = len(p)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    has_title = np.array([bool(t) for t in p.title])
    # Python's sort on the strings themselves: numpy's fixed-width copies of a million titles
    # would take gigabytes.
    titles, reversed_titles = p.title.tolist(), p.title_reversed.tolist()
    author_keys = [
        f"{a}|{y:05d}|{t}" for a, y, t in zip(p.first_author.tolist(), p.year.tolist(), titles, strict=True)
    ]
    orders = [
        np.array(sorted(range(n), key=titles.__getitem__), dtype=np.int64),
        np.array(sorted(range(n), key=reversed_titles.__getitem__), dtype=np.int64),
        np.array(sorted(range(n), key=author_keys.__getitem__), dtype=np.int64),
    ]
    blocks = [_neighbourhood(order[has_title[order]], window) for order in orders]
    blocks += [
        _exact_blocks(p.doi, max_block),
        _exact_blocks(p.pmid, max_block),
        _exact_blocks(p.title, max_block),
    ]
    # Records without a title are compared with those sharing year, volume and first page.
    page_keys = np.array(
        [
            f"{y}|{v}|{f}" if f and v and y > 0 else ""
            for y, v, f in zip(p.year, p.volume, p.first_page, strict=True)
        ],
        dtype=object,
    )
    blocks.append(_exact_blocks(page_keys, max_block))
    found = [b.astype(np.int64) for b in blocks if len(b)]
    if not found:  # e.g. records without titles that share no identifier and no page
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    pairs = np.sort(pairs, axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    codes = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([codes // n, codes % n], axis=1)


# -- scoring -----------------------------------------------------------------------------


@dataclass
class PairScores:
    pairs: np.ndarray
    title: np.ndarray
    title_partial: np.ndarray
    authors: np.ndarray
    abstract: np.ndarray  # -1 when either side has none
    label: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int8))
    reason: list[str] = field(default_factory=list)


def _similarity(a: np.ndarray, b: np.ndarray, scorer, chunk: int = 2_000_000) -> np.ndarray:
    from rapidfuzz.process import cpdist

    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), chunk):
        stop = start + chunk
        out[start:stop] = cpdist(list(a[start:stop]), list(b[start:stop]), scorer=scorer, workers=-1)
    return out


def _equal_present(values: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    a, b = values[i], values[j]
    return (a == b) & (a != "")


def score_pairs(p: Prepared, pairs: np.ndarray, min_title: float = 75.0) -> PairScores:
    """Similarities of the candidate pairs worth comparing.

    Titles are compared first, for every pair; pairs whose titles are far apart and that share
    no identifier and no (volume, first page) are dropped here, as no rule could call them
    duplicates, and only the rest get the costlier author and abstract comparisons.
    """
    from rapidfuzz import fuzz

    i, j = pairs[:, 0], pairs[:, 1]
    title = _similarity(p.title[i], p.title[j], fuzz.ratio)
    # Two empty titles are not similar titles (rapidfuzz calls them 100% alike).
    has_title = np.fromiter(map(bool, p.title), dtype=bool, count=len(p))
    has_titles = has_title[i] & has_title[j]
    title[~has_titles] = 0.0
    keep = (
        (title >= min_title)
        | _equal_present(p.doi, i, j)
        | _equal_present(p.pmid, i, j)
        | (_equal_present(p.first_page, i, j) & _equal_present(p.volume, i, j))
        | _equal_present(p.main_title, i, j)
    )
    pairs, i, j, title = pairs[keep], i[keep], j[keep], title[keep]
    partial = _similarity(p.title[i], p.title[j], fuzz.partial_ratio)
    partial[~has_titles[keep]] = 0.0
    authors = _similarity(p.authors[i], p.authors[j], fuzz.token_set_ratio)
    # Some databases write given names where the surname goes ("Si Hyun, Kang" for "Kang, Si
    # Hyun"; "Andrea, C." for "Carignani, Andrea"): where the authors look different, compare
    # each side's surnames with the other's names read that way round.
    unlike = np.flatnonzero(authors < 75)
    if len(unlike):
        ui, uj = i[unlike], j[unlike]
        # Only the records of these pairs need the swapped reading: built here, not in prepare.
        swapped = np.empty(len(p), dtype=object)
        for k in np.unique(np.concatenate([ui, uj])).tolist():
            swapped[k] = N.swapped_authors_key(p.records[k].authors)
        authors[unlike] = np.maximum.reduce(
            [
                authors[unlike],
                _similarity(p.authors[ui], swapped[uj], fuzz.token_set_ratio),
                _similarity(swapped[ui], p.authors[uj], fuzz.token_set_ratio),
            ]
        )
    # Abstracts are long: compare them only where a rule can use them.
    has_abstract = np.fromiter(
        (bool(a) and bool(b) for a, b in zip(p.abstract[i], p.abstract[j], strict=True)),
        dtype=bool,
        count=len(i),
    )
    useful = has_abstract & ((title >= 60) | (authors >= 75))
    abstract = np.full(len(pairs), -1.0, dtype=np.float32)
    if useful.any():
        abstract[useful] = _similarity(p.abstract[i][useful], p.abstract[j][useful], fuzz.ratio)
    return PairScores(pairs, title, partial, authors, abstract)


# -- decisions ---------------------------------------------------------------------------


def _field_state(a: str, b: str) -> int:
    """1 equal, -1 both present and different, 0 one missing."""
    if not a or not b:
        return 0
    return 1 if a == b else -1


_DIGITS = re.compile(r"\d+")


def _subtitle_dropped(a: str, b: str) -> bool:
    """One title is the other's main title alone (title_key keeps the subtitle after two
    spaces): numbers only the subtitle has ("... in 378 patients") are no evidence of another
    article, as databases drop subtitles. The main title must be long enough to say something."""
    main_a, main_b = a.split("  ")[0], b.split("  ")[0]
    return main_a == main_b and len(main_a) >= 15 and (a == main_a) != (b == main_b)


def _footnote_mark_only(a: str, b: str) -> bool:
    """One title is the other plus a lone digit at its end (a footnote mark), and long enough
    that the digit cannot be what tells two studies apart."""
    short, long_ = sorted((a, b), key=len)
    rest = long_[len(short) :]
    return len(short) >= 40 and long_.startswith(short) and re.fullmatch(r" ?\d", rest) is not None
_MEETING_BOOK = re.compile(r"\b(?:abstracts|proceedings|congress|conference|symposium|meeting)\b")


def explain_facts(p: Prepared, i: int, j: int, t: float, au: float, ab: float) -> str:
    """What a pair's fields show, for the explanation of a decision."""

    def mark(a: str, b: str) -> str:
        return "=≠?"[[1, -1, 0].index(_field_state(a, b))]

    yi, yj = int(p.year[i]), int(p.year[j])
    dy = abs(yi - yj) if yi > 0 and yj > 0 else -1
    journal = "?"
    if p.journal[i] and p.journal[j]:
        journal = "=" if N.journals_match(p.journal[i], p.journal[j]) else "≠"
    return (
        f"title {t:.0f}, authors {au:.0f}"
        + (f", abstract {ab:.0f}" if ab >= 0 else "")
        + f", year {'=' if dy == 0 else ('?' if dy < 0 else f'±{dy}')}"
        + f", doi {mark(p.doi[i], p.doi[j])}, pmid {mark(p.pmid[i], p.pmid[j])}"
        + f", journal {journal}, volume {mark(p.volume[i], p.volume[j])}"
        + f", pages {mark(p.first_page[i], p.first_page[j])}"
    )


def decide_pair(p: Prepared, i: int, j: int, t: float, tp: float, au: float, ab: float) -> tuple[int, str]:
    """Label one scored pair, with the rule that decided it in words (see explain_facts)."""
    doi = _field_state(p.doi[i], p.doi[j])
    pmid = _field_state(p.pmid[i], p.pmid[j])
    yi, yj = int(p.year[i]), int(p.year[j])
    dy = abs(yi - yj) if yi > 0 and yj > 0 else -1
    page = _field_state(p.first_page[i], p.first_page[j])
    volume = _field_state(p.volume[i], p.volume[j])
    issue = _field_state(p.issue[i], p.issue[j])
    journal = 0
    if p.journal[i] and p.journal[j]:
        journal = 1 if N.journals_match(p.journal[i], p.journal[j]) else -1
    has_authors = bool(p.authors[i]) and bool(p.authors[j])
    # Look-alikes that are different articles.
    if p.notice[i] != p.notice[j]:
        if p.notice[i] and p.notice[j]:
            return DISTINCT, f"two notices of different kinds ({p.notice[i]} and {p.notice[j]})"
        return DISTINCT, "an erratum/comment/retraction notice and an article"
    if p.protocol[i] != p.protocol[j]:
        return DISTINCT, "a protocol and a report of results"
    if p.part[i] and p.part[j] and p.part[i] != p.part[j]:
        return DISTINCT, f"parts {p.part[i]} and {p.part[j]} of a series"
    if p.part[i] != p.part[j] and t < 100:
        return DISTINCT, "only one is a numbered part of a series"
    if pmid == -1:
        return DISTINCT, "different PMIDs"
    if p.conference[i] != p.conference[j] and doi != 1 and pmid != 1:
        # The same abstract is listed by one database under the meeting and by another under
        # the journal supplement: same year, volume and title. A later article differs in them.
        same_item = (
            dy == 0
            and volume != -1
            and journal != -1
            and t >= 95
            and page != -1
            and (au >= 85 or not has_authors)
        )
        if not same_item:
            return DISTINCT, "a conference abstract and a journal article"

    # Shared identifiers.
    if pmid == 1:
        if t >= 50 or tp >= 90 or (au >= 85 and has_authors) or not p.title[i] or not p.title[j]:
            return DUPLICATE, "same PMID"
        return UNCERTAIN, "same PMID but different titles"
    if doi == 1:
        if not p.title[i] or not p.title[j]:
            if p.doi_shared[i]:
                return UNCERTAIN, "same DOI, one without a title, and the DOI is shared by different titles"
            return DUPLICATE, "same DOI"
        if t >= 70 or tp >= 90:
            return DUPLICATE, "same DOI"
        if page == -1 or (has_authors and au < 60):
            # Publishers give one DOI to a whole supplement of meeting abstracts.
            return (
                DISTINCT,
                "same DOI, but different titles and pages or authors (a supplement's DOI)",
            )
        return UNCERTAIN, "same DOI but different titles"
    if doi == -1:
        if (
            t >= 97
            and (au >= 90 or not has_authors)
            and dy == 0
            and page == 1
            and volume != -1
            and issue != -1
            and len(p.title[i]) >= 30
        ):
            return UNCERTAIN, "different DOIs, all else equal"
        return DISTINCT, "different DOIs"

    if not p.title[i] or not p.title[j]:
        return DISTINCT, "a record without a title"
    if dy >= 2:
        if t >= 95 and au >= 90 and page == 1 and volume == 1:
            return UNCERTAIN, "same article details, years far apart"
        return DISTINCT, "same title, years far apart"

    authors_ok = au >= 75 or not has_authors
    # Same volume and first page: a journal named two ways ("Praxis" / "Schweizerische Rundschau
    # fur Medizin Praxis", "Jthoraccardiovascsurg"), not two journals.
    journal_form_only = journal == -1 and page == 1 and volume == 1
    details_conflict = page == -1 or volume == -1 or (journal == -1 and not journal_form_only) or issue == -1
    details_agree = (page == 1) + (volume == 1) + (journal == 1)
    # "Editorial", "Editor's comments", "Abstracts": one title for many different items.
    generic = len(p.title[i]) < 30 or len(p.title[i].split()) <= 4
    if generic and t >= 95:
        if page == 1 and not details_conflict and dy == 0 and authors_ok:
            return DUPLICATE, "same short title, authors, year and pages"
        # A meeting's abstract book appears once in a journal volume; editorials recur.
        if _MEETING_BOOK.search(p.title[i]) and dy == 0 and volume == 1 and not details_conflict:
            return DUPLICATE, "the same meeting's abstracts in the same volume"
        return UNCERTAIN if authors_ok and not details_conflict and dy == 0 else DISTINCT, (
            "a short, generic title with nothing else to tell them apart"
        )
    if p.numbers[i] != p.numbers[j] and not _subtitle_dropped(p.title[i], p.title[j]):
        if _footnote_mark_only(p.title[i], p.title[j]) and page == 1 and volume == 1 and dy == 0 and au >= 90:
            # "... employee representation 1": a footnote mark the export kept, not a number of
            # the study, when volume and first page agree.
            return DUPLICATE, "same article; one title ends with a footnote mark"
        # "Phase 2"/"phase 3", "5-year"/"10-year", "cohort 12"/"cohort 13": other studies.
        return (UNCERTAIN if t >= 95 and au >= 90 and page == 1 else DISTINCT), (
            "titles that differ in their numbers"
        )
    if t >= 95 and issue == -1 and page != 1:
        return DISTINCT, "same title, different issues"
    if t >= 95:
        if not authors_ok:
            if details_conflict or dy == 1:
                return DISTINCT, "same title, different authors and details"
            return UNCERTAIN, "same title, different authors"
        if journal == -1 and (page == -1 or volume == -1):
            # The same abstract at two meetings, or an abstract and the article: two reports.
            return DISTINCT, "same title and authors in different journals"
        if page == -1 or (volume == -1 and page != 1) or (journal == -1 and not (page == 1 and volume == 1)):
            if (
                page == -1
                and volume != -1
                and journal == 1
                and issue != -1
                and dy == 0
                and au >= 90
                and has_authors
                and len(p.title[i]) >= 40
            ):
                # Pages are the field exports garble most (Excel dates, supplement and e-page
                # forms, a page count for a range): alone against the rest they weigh little.
                return DUPLICATE, "same title, authors, year and journal; only the pages differ"
            if (
                journal == -1
                and page == 0
                and volume == 1
                and issue == 1
                and dy == 0
                and au >= 90
                and has_authors
                and len(p.title[i]) >= 40
            ):
                # One journal named in its own language and in English (Jinko Chino Gakkai
                # Ronbunshi / Transactions of the Japanese Society for AI), the same volume and
                # issue, no pages on one side: the journal's name is the one weak field against.
                return DUPLICATE, "same title, authors, year, volume and issue; only the journal name differs"
            # (Same volume and pages: the journal's name is only spelt differently.)
            return UNCERTAIN, "same title and authors, different journal, pages or volume"
        if dy == 1 and details_agree < 2 and ab < 90:
            if (
                not p.journal[i]
                and not p.journal[j]
                and not p.volume[i]
                and not p.volume[j]
                and t >= 97
                and au >= 90
                and len(p.authors[i].split()) >= 2
                and len(p.title[i]) >= 40
            ):
                # Two records without a venue (working papers, reports as databases index them)
                # dated a year apart: nothing disagrees but the year. One with a venue may be the
                # conference paper of the other (a later article): that stays uncertain.
                return DUPLICATE, "same long title and authors, a year apart, nothing else to disagree"
            return UNCERTAIN, "same title and authors, a year apart"
        if dy < 0 and details_agree == 0 and ab < 90 and not has_authors:
            return UNCERTAIN, "same title, little else to compare"
        return DUPLICATE, "same title and authors"
    main_i, main_j = p.main_title[i], p.main_title[j]
    if (
        main_i == main_j
        and len(main_i) >= 15
        and au >= 85
        and has_authors
        and dy == 0
        and page == 1
        and not details_conflict
    ):
        return DUPLICATE, "same main title (one without its subtitle), authors, year and pages"
    if t >= 85 or (tp >= 95 and min(len(p.title[i]), len(p.title[j])) >= 40):
        if au >= 85 and has_authors and not details_conflict and dy == 0 and (details_agree >= 1 or ab >= 90):
            return DUPLICATE, "near-identical title, same authors and details"
        if details_conflict or dy == 1:
            return DISTINCT, "similar title, different details"
        if au >= 70 or ab >= 85:
            return UNCERTAIN, "similar title and authors"
        return DISTINCT, "similar title only"
    if (
        au >= 90
        and has_authors
        and dy == 0
        and page == 1
        and volume == 1
        and journal >= 0
        and issue != -1
        and (t >= 75 or ab >= 92)
    ):
        return DUPLICATE, "same authors, journal, volume and pages, title reworded or translated"
    if (
        au >= 90
        and has_authors
        and dy == 0
        and page == 1
        and p.last_page[i]
        and p.last_page[i] == p.last_page[j]
        and p.last_page[i] != p.first_page[i]
        and volume == 1
        and issue != -1
        and journal >= 0
    ):
        # One page range of one volume holds one article: a title given in two languages (the
        # issue may be unknown: left out, or a record number dropped in prepare).
        return DUPLICATE, "same authors, journal, volume and page range; title translated"
    if ab >= 95 and au >= 80:
        return UNCERTAIN, "same abstract and authors, different titles"
    if au >= 90 and has_authors and dy == 0 and page == 1 and volume == 1 and journal == 1:
        # Often a title in two languages; sometimes two articles with wrong page data.
        return UNCERTAIN, "same authors, journal, volume and pages, different titles"
    return DISTINCT, "different titles"


def decide(p: Prepared, scores: PairScores, explain_distinct: bool = False) -> PairScores:
    """Label every pair. The explanation (rule and field comparison) is written for the pairs
    that are kept (duplicates and uncertain ones), and for distinct ones only when asked: this
    is dedup's inner loop, and most pairs are distinct."""
    labels = np.empty(len(scores.pairs), dtype=np.int8)
    reasons: list[str] = []
    rows = zip(
        scores.pairs[:, 0].tolist(),
        scores.pairs[:, 1].tolist(),
        scores.title.tolist(),
        scores.title_partial.tolist(),
        scores.authors.tolist(),
        scores.abstract.tolist(),
        strict=True,
    )
    for k, (i, j, t, tp, au, ab) in enumerate(rows):
        label, why = decide_pair(p, i, j, t, tp, au, ab)
        labels[k] = label
        reasons.append(f"{why}: {explain_facts(p, i, j, t, au, ab)}" if label or explain_distinct else why)
    scores.label = labels
    scores.reason = reasons
    return scores


# -- clustering --------------------------------------------------------------------------


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def cluster(
    n: int,
    edges: Iterable[tuple[int, int, float]],
    cannot_link: Iterable[tuple[int, int]] = (),
) -> np.ndarray:
    """Cluster index per record. Edges are joined strongest first; an edge that would put a
    cannot-link pair (a human's "different") in one cluster is skipped."""
    uf = UnionFind(n)
    forbidden: dict[int, set[int]] = {}
    for a, b in cannot_link:
        forbidden.setdefault(a, set()).add(b)
        forbidden.setdefault(b, set()).add(a)
    members: dict[int, set[int]] = {}
    for a, b, _ in sorted(edges, key=lambda e: -e[2]):
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            continue
        if forbidden:
            set_a = members.get(ra, {ra})
            set_b = members.get(rb, {rb})
            if any(forbidden.get(x, set()) & set_b for x in set_a):
                continue
            uf.union(ra, rb)
            root = uf.find(ra)
            members[root] = set_a | set_b
        else:
            uf.union(ra, rb)
    roots = np.array([uf.find(i) for i in range(n)])
    _, index = np.unique(roots, return_inverse=True)
    return index
