"""Deduplication across searches: fuzzy, explainable, and careful not to merge what differs.

`deduplicate(records)` is the one entry point; see engine.py for the method. Human decisions on
pairs (labels/dedup.csv) come in as `same` / `different` lists of id pairs and always win.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from ..records import Record
from ..schema import OTHER_KINDS
from .engine import candidate_pairs, cluster, decide, prepare, score_pairs
from .evaluate import Confusion, evaluate_clusters
from .rules import DUPLICATE, LABELS

__all__ = ["DedupResult", "Pair", "deduplicate", "merge_cluster", "Confusion", "evaluate_clusters"]

_COMPLETENESS_FIELDS = ("pmid", "doi", "abstract", "title", "journal", "volume", "issue", "pages", "year")


@dataclass
class Pair:
    """A compared pair, in record ids, with its label and explanation."""

    id_1: str
    id_2: str
    label: str  # duplicate, uncertain, distinct
    title: float
    authors: float
    abstract: float
    reason: str
    decided_by: str = "rules"  # or "human"
    # Positions of the two records in the deduplicated list: an id shared by records dedup keeps
    # apart is split afterwards (see split_shared_ids), and the pair must follow its records.
    index_1: int = -1
    index_2: int = -1


@dataclass
class DedupResult:
    records: list[Record]
    cluster_of: np.ndarray  # cluster index per record
    pairs: list[Pair]
    seconds: dict[str, float] = field(default_factory=dict)
    compared: int = 0  # pairs scored in full
    candidates: int = 0  # pairs the blocking proposed (titles compared)

    @cached_property
    def clusters(self) -> list[list[int]]:
        """Record positions per cluster; computed once (callers ask often: ~1 s at 100,000).
        A result is never changed after it is made; callers only read these lists."""
        groups: dict[int, list[int]] = {}
        for index, c in enumerate(self.cluster_of.tolist()):
            groups.setdefault(c, []).append(index)
        return list(groups.values())

    def uncertain(self) -> list[Pair]:
        return [p for p in self.pairs if p.label == "uncertain" and p.decided_by == "rules"]

    def pair_outcomes(self) -> list[tuple[bool, str]]:
        """For each pair: whether its records ended in one study, and an explanation that says
        so when the pair itself was not a duplicate (other records joined them)."""
        position: dict[str, int] = {}
        for index, record in enumerate(self.records):
            position.setdefault(record.id, index)
        members = self.clusters
        out = []
        for pair in self.pairs:
            a, b = position[pair.id_1], position[pair.id_2]
            together = bool(self.cluster_of[a] == self.cluster_of[b])
            reason = pair.reason
            if together and pair.label != "duplicate":
                via = [self.records[i].id for i in members[self.cluster_of[a]] if i not in (a, b)]
                shown = ", ".join(via[:3]) + (" ..." if len(via) > 3 else "")
                reason += f"; in one study all the same, joined through {shown or 'a person’s decision'}"
            out.append((together, reason))
        return out

    def representatives(
        self, keep_first: Sequence[str] = (), other_methods: Collection[str] = ()
    ) -> list[int]:
        """The record kept for each cluster: a record of a database or register search before
        any of `other_methods` (citation, website, organisation searches: a chase must not
        change a study's id nor its bibliographic data), then the first search of `keep_first`
        that has a copy (review.toml [dedup] keep_first), else the most complete one (a PMID and
        an abstract first). PRISMA counts the other copies as the duplicates of their searches."""
        rank = {name: len(keep_first) - position for position, name in enumerate(keep_first)}

        def preference(i: int) -> tuple[bool, int, int, int]:
            record = self.records[i]
            return record.search not in other_methods, rank.get(record.search, 0), _completeness(record), -i

        # A study of one record (most of them) has no choice to make.
        return [
            members[0] if len(members) == 1 else max(members, key=preference) for members in self.clusters
        ]


def _completeness(record: Record) -> int:
    score = sum(1 for name in _COMPLETENESS_FIELDS if getattr(record, name))
    return score + len(record.authors) // 100 + (2 if record.pmid else 0)


def merge_cluster(
    records: Sequence[Record], other_methods: Collection[str] = (), first: Record | None = None
) -> Record:
    """One record for a cluster: `first` (the representative; default the most complete
    member), its empty fields filled from the others.

    Records of `other_methods` searches (citations, websites, organisations: OpenAlex's copy of
    a study a database found) come last: they only fill what every database or register record
    lacks (pmid, doi, title, abstract, journal, volume, issue, pages, language, url, source id,
    year, authors, keywords, MeSH, publication types), so a chase never rewrites the
    bibliographic data the team imported. Every member's id and search stay listed in `extra`
    (`merged_ids`, `merged_searches`), so counts per database stay right.
    """
    ranked = sorted(records, key=lambda r: (r.search not in other_methods, _completeness(r)), reverse=True)
    if first is not None:
        ranked = [first] + [r for r in ranked if r is not first]
    base = Record.from_dict(ranked[0].to_dict())
    for other in ranked[1:]:
        for name in (
            "pmid",
            "doi",
            "title",
            "abstract",
            "journal",
            "journal_abbrev",
            "volume",
            "issue",
            "pages",
            "language",
            "url",
            "source_id",
        ):
            if not getattr(base, name) and getattr(other, name):
                setattr(base, name, getattr(other, name))
        if base.year is None and other.year is not None:
            base.year = other.year
        for name in ("authors", "keywords", "mesh", "publication_types"):
            if not getattr(base, name) and getattr(other, name):
                setattr(base, name, list(getattr(other, name)))
    base.extra = dict(base.extra)
    base.extra["merged_ids"] = ";".join(dict.fromkeys(r.id for r in records))
    base.extra["merged_searches"] = ";".join(dict.fromkeys(r.search for r in records if r.search))
    return base


def deduplicate(
    records: Sequence[Record],
    same: Iterable[tuple[str, str]] = (),
    different: Iterable[tuple[str, str]] = (),
    keep_distinct_pairs: bool = False,
    seniority: Sequence[Any] | None = None,
) -> DedupResult:
    """Cluster duplicate records.

    Records with the same PMID or accession number are always one cluster; a shared DOI goes
    through the rules, and when they keep its records apart the id is split (split_shared_ids,
    `seniority` says which record keeps it). `same` / `different` are human decisions on id
    pairs (split ids included) and override the rules; `different` holds even against a chain
    of other matches.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    prepared = prepare(records)
    timings["prepare"] = time.perf_counter() - start

    start = time.perf_counter()
    pairs = candidate_pairs(prepared)
    timings["block"] = time.perf_counter() - start

    start = time.perf_counter()
    scores = score_pairs(prepared, pairs)
    timings["score"] = time.perf_counter() - start

    start = time.perf_counter()
    scores = decide(prepared, scores, explain_distinct=keep_distinct_pairs)
    timings["decide"] = time.perf_counter() - start

    start = time.perf_counter()
    index_of: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        index_of.setdefault(record.id, []).append(position)
    # A person may have answered on the split id of a record that shares its id. Collected
    # apart: a split id equal to a real id must not grow the list being walked.
    aliases: dict[str, list[int]] = {}
    for members in index_of.values():
        if len(members) > 1:
            for position in members:
                aliases.setdefault(split_id(records[position]), []).append(position)
    for alias, positions in aliases.items():
        held = index_of.setdefault(alias, [])
        held.extend(p for p in positions if p not in held)
    human: dict[tuple[int, int], str] = {}
    for decision, id_pairs in (("same", same), ("different", different)):
        for a, b in id_pairs:
            for i in index_of.get(a, []):
                for j in index_of.get(b, []):
                    if i != j:
                        human[(min(i, j), max(i, j))] = decision
    edges: list[tuple[int, int, float]] = []
    for record_id, members in index_of.items():
        # One PubMed id or one accession number is one record. A DOI is not always: publishers
        # give one to a whole supplement of abstracts, so DOI ids go through the rules.
        if not record_id.startswith("doi:"):
            edges.extend((members[0], other, 1000.0) for other in members[1:])
    # The PubMed id itself too, whatever id a record goes by (`dedup --input` numbers the rows):
    # PubMed's "Comment" or "Editorial" beside another database's type is one record, not an
    # erratum and its article.
    by_pmid: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        if record.pmid and record.id != f"pmid:{record.pmid}":
            by_pmid.setdefault(record.pmid, []).append(position)
    for pmid, members in by_pmid.items():
        first = index_of.get(f"pmid:{pmid}", members)[0]
        edges.extend((first, other, 1000.0) for other in members if other != first)
    out_pairs: list[Pair] = []
    seen: set[tuple[int, int]] = set()
    for k, (i, j) in enumerate(scores.pairs.tolist()):
        seen.add((i, j))
        label = int(scores.label[k])
        decided_by = "rules"
        if (i, j) in human:
            label = DUPLICATE if human[(i, j)] == "same" else 0
            decided_by = "human"
        strength = float(scores.title[k]) + float(scores.authors[k]) / 10
        if label == DUPLICATE:
            edges.append((i, j, strength + (500 if decided_by == "human" else 0)))
        if label != 0 or keep_distinct_pairs or decided_by == "human":
            out_pairs.append(
                Pair(
                    records[i].id,
                    records[j].id,
                    LABELS[label],
                    float(scores.title[k]),
                    float(scores.authors[k]),
                    float(scores.abstract[k]),
                    scores.reason[k],
                    decided_by,
                    i,
                    j,
                )
            )
    for (i, j), decision in human.items():  # human pairs the blocking never proposed
        if (i, j) not in seen:
            if decision == "same":
                edges.append((i, j, 1500.0))
            out_pairs.append(
                Pair(
                    records[i].id,
                    records[j].id,
                    "duplicate" if decision == "same" else "distinct",
                    -1,
                    -1,
                    -1,
                    "decided by a reviewer",
                    "human",
                    i,
                    j,
                )
            )
    cannot = [pair for pair, decision in human.items() if decision == "different"]
    cluster_of = cluster(len(records), edges, cannot)
    timings["cluster"] = time.perf_counter() - start
    kept_apart, out_pairs = split_shared_ids(records, cluster_of, out_pairs, seniority)
    return DedupResult(
        kept_apart, cluster_of, out_pairs, timings, compared=len(scores.pairs), candidates=len(pairs)
    )


def split_id(record: Record) -> str:
    """The id a record gets when it shares its id with a record dedup keeps apart from it (an
    erratum with its article's DOI): the shared id, `~`, and a hash of its title, first author
    and year, so it stays the same whatever else the review holds."""
    import hashlib

    from ..records import _first_author_surname, _title_key

    basis = "|".join(
        [_title_key(record.title), _first_author_surname(record.authors), str(record.year or "")]
    )
    return f"{record.id}~{hashlib.sha1(basis.encode('utf-8')).hexdigest()[:6]}"


def split_shared_ids(
    records: Sequence[Record],
    cluster_of: np.ndarray,
    pairs: list[Pair],
    seniority: Sequence[Any] | None = None,
) -> tuple[list[Record], list[Pair]]:
    """No id names two records that dedup keeps apart: one label would decide both and PRISMA
    would count it twice. Of the clusters sharing an id, the one holding its most senior record
    (earliest round, then first in the review) keeps it: an id that named one record before an
    update brought a correction with the same DOI keeps naming it. The records of the other
    clusters take their split_id; pairs follow their records. Copies within one cluster keep
    sharing an id."""
    groups: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        groups.setdefault(record.id, []).append(position)
    renamed: dict[int, str] = {}
    taken: set[str] = set(groups)  # a split id is never an id the review already has
    for members in groups.values():
        if len(members) < 2 or len({int(cluster_of[i]) for i in members}) < 2:
            continue

        def rank(position: int) -> tuple[Any, int]:
            return (seniority[position] if seniority is not None else 0), position

        keeper = int(cluster_of[min(members, key=rank)])
        alias_of_cluster: dict[int, str] = {}
        for position in sorted(members, key=rank):
            group = int(cluster_of[position])
            if group == keeper:
                continue
            if group not in alias_of_cluster:
                alias, n = split_id(records[position]), 1
                while alias in taken:  # same title, author and year, still kept apart
                    n += 1
                    alias = f"{split_id(records[position])}-{n}"
                taken.add(alias)
                alias_of_cluster[group] = alias
            renamed[position] = alias_of_cluster[group]
    if not renamed:
        return list(records), pairs
    out = list(records)
    for position, new_id in renamed.items():
        out[position] = replace(records[position], id=new_id)
    for pair in pairs:
        if pair.index_1 >= 0:
            pair.id_1, pair.id_2 = out[pair.index_1].id, out[pair.index_2].id
    return out, pairs


# -- a review's searches, and files without a review -------------------------------------


@dataclass
class SearchDedupReport:
    name: str
    database: str
    records: int
    duplicates_removed: int

    @property
    def unique(self) -> int:
        return self.records - self.duplicates_removed


@dataclass
class ReviewDedup:
    result: DedupResult
    kept: list[int]  # index of the representative of each cluster
    searches: list[SearchDedupReport]
    pending: list[Pair]  # uncertain pairs no one has decided yet that would change the clusters
    other_methods: frozenset[str] = frozenset()  # searches of citations, websites, organisations

    @property
    def records_in(self) -> int:
        return len(self.result.records)

    @property
    def duplicates_removed(self) -> int:
        return self.records_in - len(self.kept)

    def studies(self) -> list[Record]:
        """One merged record per cluster (the representative's id), every source id kept."""
        out = []
        kept_set = set(self.kept)
        every = self.result.records
        for members in self.result.clusters:
            if len(members) == 1:  # most studies: one record, nothing to merge
                out.append(every[members[0]])
                continue
            records = [every[i] for i in members]
            first = every[next(i for i in members if i in kept_set)]
            merged = merge_cluster(records, self.other_methods, first)
            merged.id = first.id
            out.append(merged)
        return out

    def to_dict(self) -> dict:
        return {
            "records": self.records_in,
            "duplicates_removed": self.duplicates_removed,
            "unique": len(self.kept),
            "pairs_compared": self.result.compared,
            "uncertain_pending": len(self.pending),
            "searches": [
                {
                    "name": s.name,
                    "database": s.database,
                    "records": s.records,
                    "duplicates_removed": s.duplicates_removed,
                    "unique": s.unique,
                }
                for s in self.searches
            ],
            "seconds": {k: round(v, 3) for k, v in self.result.seconds.items()},
        }


def pending_pairs(result: DedupResult) -> list[Pair]:
    """Uncertain pairs whose records are still in different clusters: the ones a person should see."""
    from .decisions import pair_key

    position = {}
    for index, record in enumerate(result.records):
        position.setdefault(record.id, index)
    pending, seen = [], set()
    for p in result.uncertain():
        key = pair_key(p.id_1, p.id_2)  # a decision is on the ids: one answer covers every copy
        if key in seen or result.cluster_of[position[p.id_1]] == result.cluster_of[position[p.id_2]]:
            continue
        seen.add(key)
        pending.append(p)
    return pending


# Bump when the rules change, so cached clusters are recomputed.
DEDUP_VERSION = "10"


def _cache_key(review, keep_distinct_pairs: bool) -> str:  # noqa: ANN001
    import hashlib

    digest = hashlib.sha256(f"{DEDUP_VERSION}|{keep_distinct_pairs}".encode())
    for search in review.searches():
        for f in search.files:
            digest.update(f"{search.name}|{f.sha256}|{f.format}".encode())
    from ..names import read_regular_bytes
    from .split_ids import ids_path

    for path in (review.dedup_decisions_path, ids_path(review)):  # human decisions, recorded splits
        digest.update(b"|")
        if path.exists() or path.is_symlink():
            digest.update(read_regular_bytes(path))
    return digest.hexdigest()[:32]


def _cached_deduplicate(
    review,  # noqa: ANN001
    records: list[Record],
    keep_distinct_pairs: bool,
    seniority: Sequence[Any] | None = None,
) -> DedupResult:
    """deduplicate() on the review's records, reusing the last result while nothing changed:
    the searches' files and labels/dedup.csv are the whole input."""
    import marshal

    from ..textio import atomic_write_bytes
    from .decisions import read_decisions, split_decisions

    path = review.cache_dir / "dedup" / f"{_cache_key(review, keep_distinct_pairs)}.marshal"
    if path.exists():
        try:
            data = marshal.loads(path.read_bytes())
            if len(data["cluster_of"]) == len(records):
                cluster_of = np.array(data["cluster_of"], dtype=np.int64)
                kept_apart, pairs = split_shared_ids(
                    records, cluster_of, [Pair(*row) for row in data["pairs"]], seniority
                )
                return DedupResult(
                    kept_apart,
                    cluster_of,
                    pairs,
                    data["seconds"],
                    data["compared"],
                    data["candidates"],
                )
        except Exception:  # a damaged cache is recomputed, never trusted
            pass
    same, different = split_decisions(read_decisions(review.dedup_decisions_path))
    result = deduplicate(
        records, same=same, different=different, keep_distinct_pairs=keep_distinct_pairs, seniority=seniority
    )
    payload = {
        "cluster_of": result.cluster_of.tolist(),
        "pairs": [tuple(p.__dict__.values()) for p in result.pairs],
        "seconds": result.seconds,
        "compared": result.compared,
        "candidates": result.candidates,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, marshal.dumps(payload), durable=False)
    except OSError:
        pass
    return result


def dedup_review(review, keep_distinct_pairs: bool = False) -> ReviewDedup:  # noqa: ANN001 - Review
    """Deduplicate every search of a review, honouring labels/dedup.csv."""
    from .split_ids import apply_recorded

    records = apply_recorded(review, review.records())
    seniority = _seniority(review)
    if len(seniority) != len(records):  # the review's counts are checked on load; never guess
        seniority = None
    result = _cached_deduplicate(review, records, keep_distinct_pairs, seniority)
    databases = {s.name: s.database for s in review.searches()}
    keep_first = review.config.raw.get("dedup", {}).get("keep_first", [])
    unknown = [name for name in keep_first if name not in databases]
    if unknown:
        from ..errors import ScreenerError

        raise ScreenerError(
            f"dedup.keep_first names {', '.join(map(repr, unknown))}, which is no search of this review",
            path=review.config_path,
            hint=f"searches: {', '.join(databases) or 'none yet'}",
        )
    # Kinds as schema/vocab.py defines them (an unknown kind is caught where PRISMA reads it).
    other_methods = frozenset(s.name for s in review.searches() if getattr(s, "kind", "") in OTHER_KINDS)
    kept = result.representatives(keep_first, other_methods)
    kept_set = set(kept)
    counts: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        entry = counts.setdefault(record.search, [0, 0])
        entry[0] += 1
        entry[1] += index not in kept_set
    searches = [
        SearchDedupReport(name, databases.get(name, ""), total, removed)
        for name, (total, removed) in counts.items()
    ]
    return ReviewDedup(result, kept, searches, pending_pairs(result), other_methods)


def _seniority(review) -> list[tuple[int, float]]:  # noqa: ANN001 - Review
    """Per record of review.records(): the round and the import time of its file, the order in
    which the review came to hold it (a time that cannot be read counts as the earliest)."""
    import datetime as dt

    when: dict[str, float] = {}
    out: list[tuple[int, float]] = []
    for _, f, _ in review.record_files():
        if f.imported not in when:
            try:
                stamp = dt.datetime.fromisoformat(f.imported)
                when[f.imported] = (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).timestamp()
            except ValueError:
                when[f.imported] = float("-inf")
        out.append((f.round, when[f.imported]))
    return out


def dedup_files(
    paths: Sequence[str], id_column: str | None = None, fmt: str | None = None
) -> tuple[list[str], DedupResult]:
    """Deduplicate export files without a review. Returns each input record's id and the result.

    For tables the id is the `id_column` (default: the first of ID, id, record_id present), else
    the row number; for other formats the record's own id.
    """
    import pandas as pd

    from ..errors import ScreenerError
    from ..importers import read_records

    ids: list[str] = []
    records: list[Record] = []
    own_ids: list[bool] = []  # the record's own id (not a table's id column): split like a review's
    for path in paths:
        parsed = read_records(path, fmt)
        file_ids = [r.id for r in parsed.records]
        own_ids.extend([parsed.format not in ("csv", "excel")] * len(file_ids))
        if parsed.format in ("csv", "excel"):
            if parsed.format == "csv":
                from ..importers.tabular import read_frame_from_text
                from ..textio import read_text

                frame = read_frame_from_text(read_text(path)[0], path)
            else:
                frame = pd.read_excel(path, dtype=str, keep_default_na=False)
            column = id_column or next((c for c in ("ID", "id", "record_id") if c in frame.columns), None)
            if id_column and id_column not in frame.columns:
                raise ScreenerError(
                    f"has no column {id_column!r}",
                    path=path,
                    line=1,
                    hint=f"columns are: {', '.join(map(str, frame.columns[:15]))}",
                )
            file_ids = [str(v) for v in frame[column]] if column else [str(k) for k in range(len(frame))]
        for record, rid in zip(parsed.records, file_ids, strict=True):
            record.id = f"{len(ids)}"  # every input row is its own record here
            ids.append(rid)
            records.append(record)
    result = deduplicate(records)
    # As in a review, no id names two records kept apart (an article and its erratum by DOI).
    named = [replace(r, id=rid) for r, rid in zip(records, ids, strict=True)]
    split, _ = split_shared_ids(named, result.cluster_of, [])
    ids = [s.id if own else rid for s, rid, own in zip(split, ids, own_ids, strict=True)]
    return ids, result
