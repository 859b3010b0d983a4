"""Finding duplicate records: prepare, block, score, decide, cluster, merge.

- `prepare` turns records into arrays of normalised keys (normalise.py).
- `candidate_pairs` blocks: exact identifiers, plus sorted neighbourhoods over three orders
  (title, reversed title, first author + year), so the pairs compared grow linearly with the
  number of records instead of quadratically.
- `score_pairs` compares every candidate pair with rapidfuzz, vectorised over all pairs and
  all cores (`process.cpdist`).
- `decide` applies the rules (rules.py) to every pair, each getting a label (duplicate /
  uncertain / distinct) and a one-line explanation; false merges drop studies from a review, so
  every rule that merges asks for agreement on more than one field, and known look-alikes
  (errata, comments, conference abstracts, protocols, parts of a series, same title in other
  years) are vetoed.
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
from .rules import decide_pair, explain_facts

_DIGITS = re.compile(r"\d+")


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
