"""Citation searching: from the included studies to their references and the works citing them,
stored as a search of kind `citations` like any import.

`seeds_from_review` takes the studies included at a stage (or named ids), each with the DOI and
PMID of any of its records; `plan` counts the look-ups a chase would make without asking
anything; `chase` asks each source in turn (OpenAlex, Europe PMC) for one or two levels in
each direction and merges what they find into distinct works (by DOI, PMID, then the source's
own id); `store` writes them as one CSV file in `searches/` with its sha256 in
`searches/NAME.toml`, so every later load re-reads and re-checks it through the CSV importer.

Each row keeps how it was found, in columns the importer leaves in `Record.extra`: `chase_seed`,
`chase_direction`, `chase_depth`, `chase_source`, `chase_via` (the work a depth-2 result came
through) hold one value per path, one per line of the cell (a record id may hold ";" or ","
but never a line break), in the same order, and `chase_date` the day. `provenance` reads them
back for the report and `prisma --explain`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ScreenerError
from ..records import Record, normalise_doi, normalise_pmid, safe_text
from ..review import Review, Search
from ..schema import STAGES
from .model import DIRECTIONS, Seed, Work

SOURCES = ("openalex", "europepmc")
COLUMNS = (
    "record id",
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "abstract",
)
PATH_COLUMNS = ("chase_seed", "chase_direction", "chase_depth", "chase_source", "chase_via")
PATH_SEPARATOR = "\n"  # between the paths of one work, in each chase_ column
CHUNK = 50  # parents handed to a source at once (OpenAlex batches this many in one request)

Progress = Callable[[str, int, int], None]


class Source(Protocol):
    name: str
    label: str

    def lookup(self, seed: Seed) -> Work | None: ...
    def references(self, parents: list[Work]) -> dict[str, list[Work]]: ...
    def citing(self, parents: list[Work]) -> dict[str, list[Work]]: ...


@dataclass(frozen=True)
class FoundPath:
    """One way a work was reached: from which seed, in which direction, how deep, where."""

    seed: str  # the seed's record id in the review
    direction: str
    depth: int
    source: str
    via: str = ""  # depth 2: the source's id of the work in between

    def describe(self) -> str:
        via = f" via {self.via}" if self.via else ""
        return f"{self.direction} from {self.seed} (depth {self.depth}, {self.source}{via})"


@dataclass
class Found:
    work: Work
    paths: list[FoundPath] = field(default_factory=list)


@dataclass
class ChaseResult:
    found: list[Found]
    seeds: list[Seed]
    not_found: dict[str, list[str]]  # source -> seed record ids it does not know
    directions: tuple[str, ...]
    depth: int
    sources: tuple[str, ...]
    requests: int = 0
    cached: int = 0
    search: Search | None = None
    failed: dict[str, str] = field(default_factory=dict)  # source -> why it stopped (its works left out)

    @property
    def without_ids(self) -> list[Seed]:
        return [s for s in self.seeds if not s.identified]

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search.name if self.search else None,
            "stored_as": f"searches/{self.search.files[-1].path}"
            if self.search and self.search.files
            else None,
            "seeds": len(self.seeds),
            "seeds_without_doi_or_pmid": [s.record_id for s in self.without_ids],
            "seeds_not_found": self.not_found,
            "directions": list(self.directions),
            "depth": self.depth,
            "sources": list(self.sources),
            "works_found": len(self.found),
            "requests": self.requests,
            "answered_from_cache": self.cached,
            "sources_failed": self.failed,
        }


def seeds_from_review(review: Review, stage: str = "full-text", ids: Iterable[str] = ()) -> list[Seed]:
    """The studies included at `stage` (or the records named by `ids`), each with the DOI and
    PMID of any record of its cluster, in the review's order."""
    from ..dedup import dedup_review
    from ..screening import load_stages, review_studies

    if stage not in STAGES:
        raise ScreenerError(f"--stage must be one of {', '.join(STAGES)}")
    outcome = dedup_review(review)
    studies, member_of = review_studies(review, outcome)
    members: dict[str, list[Record]] = {}
    for record in outcome.result.records:
        members.setdefault(member_of.get(record.id, record.id), []).append(record)
    # A record is also found by its DOI or PMID when its id is another (a PMID outranks a DOI).
    by_field: dict[str, str] = {}
    for record in outcome.result.records:
        for key in (f"doi:{record.doi}" if record.doi else "", f"pmid:{record.pmid}" if record.pmid else ""):
            if key:
                by_field.setdefault(key, member_of.get(record.id, record.id))
    wanted = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if wanted:
        chosen = []
        for record_id in wanted:
            study = (
                member_of.get(record_id)
                or member_of.get(_as_id(record_id))
                or by_field.get(_as_id(record_id))
            )
            if study is None:
                raise ScreenerError(
                    f"--ids: no record {record_id!r} in this review",
                    hint="ids as 'screener prisma --explain new_studies' prints them (pmid:…, doi:…)",
                )
            chosen.append(study)
        chosen = list(dict.fromkeys(chosen))
    else:
        view = load_stages(review, studies, member_of)[stage]
        chosen = [
            s.id for s in studies if (f := view.final.get(s.id)) is not None and f.decision == "include"
        ]
    seeds = []
    for study_id in chosen:
        records = members.get(study_id, [])
        doi = next((r.doi for r in records if r.doi), "")
        pmid = next((r.pmid for r in records if r.pmid), "")
        title = next((r.title for r in records if r.id == study_id), records[0].title if records else "")
        seeds.append(Seed(study_id, title, doi, pmid))
    return seeds


def _as_id(text: str) -> str:
    """A typed id as records.record_id makes it: DOIs are case-insensitive (`doi:10.1245/ASO…`
    is `doi:10.1245/aso…`, as dedup matches them) and a PMID has no padding."""
    prefix, _, value = text.partition(":")
    if prefix.lower() == "doi" and (doi := normalise_doi(value)):
        return f"doi:{doi}"
    if prefix.lower() == "pmid" and (pmid := normalise_pmid(value)):
        return f"pmid:{pmid}"
    return text


def plan(seeds: list[Seed], sources: Iterable[str], directions: Iterable[str], depth: int) -> dict[str, Any]:
    """What a chase would ask, counted without asking: one look-up per seed and source to find
    it, one per seed, source and direction for depth 1 (paging and depth 2 add more)."""
    identified = [s for s in seeds if s.identified]
    sources, directions = list(sources), list(directions)
    seed_lookups = len(identified) * len(sources)
    level_one = len(identified) * len(sources) * len(directions)
    return {
        "seeds": len(seeds),
        "seeds_with_doi_or_pmid": len(identified),
        "seeds_without_doi_or_pmid": [s.record_id for s in seeds if not s.identified],
        "sources": sources,
        "directions": directions,
        "depth": depth,
        "seed_lookups": seed_lookups,
        "depth_1_lookups": level_one,
        "lookups": seed_lookups + level_one,
        "more_at_depth_2": depth > 1,
    }


class _Merger:
    """Works from every source merged into distinct works: one DOI, one PMID or one source id."""

    def __init__(self) -> None:
        self.found: list[Found] = []
        self.index: dict[str, int] = {}

    @staticmethod
    def _keys(work: Work) -> list[str]:
        keys = [f"{work.source}:{work.key}"]
        if work.doi:
            keys.append("doi:" + work.doi)
        if work.pmid:
            keys.append("pmid:" + work.pmid)
        return keys

    def add(self, work: Work, path: FoundPath) -> None:
        keys = self._keys(work)
        at = next((self.index[k] for k in keys if k in self.index), None)
        if at is None:
            at = len(self.found)
            self.found.append(Found(Work(**{**vars(work), "refs": None})))
        else:
            held = self.found[at].work
            for name in ("title", "year", "journal", "volume", "issue", "pages", "doi", "pmid"):
                if not getattr(held, name) and getattr(work, name):
                    setattr(held, name, getattr(work, name))
            if len(work.abstract) > len(held.abstract):
                held.abstract = work.abstract
            if len(work.authors) > len(held.authors):
                held.authors = list(work.authors)
        for key in self._keys(self.found[at].work) + keys:
            self.index.setdefault(key, at)
        if path not in self.found[at].paths:
            self.found[at].paths.append(path)


def chase(
    seeds: list[Seed],
    sources: list[Source],
    directions: Iterable[str],
    depth: int = 1,
    progress: Progress | None = None,
) -> ChaseResult:
    """Follow every identified seed through every source; nothing is written here."""
    directions = tuple(d for d in DIRECTIONS if d in set(directions))
    if not directions:
        raise ScreenerError("choose a direction: --backward, --forward or both")
    if depth not in (1, 2):
        raise ScreenerError(f"--depth {depth}: citation searching goes 1 or 2 levels deep")
    merger = _Merger()
    not_found: dict[str, list[str]] = {}
    failed: dict[str, str] = {}
    identified = [s for s in seeds if s.identified]

    def tell(what: str, done: int, total: int) -> None:
        if progress:
            progress(what, done, total)

    for source in sources:
        # A source that fails part-way adds nothing: what it found is merged only when it is
        # done, so another source's finished results are kept and reported on their own.
        found: list[tuple[Work, FoundPath]] = []
        unknown: list[str] = []
        try:
            _one_source(source, identified, directions, depth, found, unknown, tell)
        except ScreenerError as exc:
            if len(sources) == 1:
                raise
            failed[source.name] = exc.message  # its hint is for a chase of that source alone
            continue
        for work, path in found:
            merger.add(work, path)
        if unknown:
            not_found[source.name] = unknown
    if failed and not merger.found and len(failed) == len(sources):
        raise ScreenerError("; ".join(failed[s.name] for s in sources), hint="nothing was written")
    requests = sum(getattr(getattr(s, "client", None), "requests", 0) for s in sources)
    cached = sum(getattr(getattr(s, "client", None), "cached", 0) for s in sources)
    return ChaseResult(
        merger.found,
        list(seeds),
        not_found,
        directions,
        depth,
        tuple(s.name for s in sources),
        requests,
        cached,
        failed=failed,
    )


def _one_source(
    source: Source,
    identified: list[Seed],
    directions: tuple[str, ...],
    depth: int,
    found: list[tuple[Work, FoundPath]],
    unknown: list[str],
    tell: Progress,
) -> None:
    """One source's look-ups, each (work, path) appended to `found`."""
    roots: list[tuple[Work, str]] = []
    client = getattr(source, "client", None)
    looked_up = (
        client.map(source.lookup, identified) if client is not None else map(source.lookup, identified)
    )
    for done, (seed, work) in enumerate(zip(identified, looked_up, strict=True), start=1):
        if work is None:
            unknown.append(seed.record_id)
        else:
            roots.append((work, seed.record_id))
        tell(f"{source.label}: finding the seeds", done, len(identified))
    for direction in directions:
        ask = source.references if direction == "backward" else source.citing
        # A work reached from several seeds carries all of them down the next level.
        frontier: dict[str, Work] = {}
        origins: dict[str, list[str]] = {}
        for work, seed_id in roots:
            frontier.setdefault(work.key, work)
            origins.setdefault(work.key, []).append(seed_id)
        seen = set(frontier)
        for level in range(1, depth + 1):
            parents = list(frontier.values())
            following: dict[str, Work] = {}
            following_origins: dict[str, list[str]] = {}
            what = f"{source.label}: {direction}, depth {level}"
            tell(what, 0, len(parents))
            for start in range(0, len(parents), CHUNK):
                chunk = parents[start : start + CHUNK]
                answer = ask(chunk)
                for parent in chunk:
                    for child in answer.get(parent.key, []):
                        for seed_id in origins[parent.key]:
                            via = parent.key if level > 1 else ""
                            found.append((child, FoundPath(seed_id, direction, level, source.name, via)))
                        if child.key not in seen:
                            seen.add(child.key)
                            following[child.key] = child
                        if child.key in following:
                            ids = following_origins.setdefault(child.key, [])
                            ids.extend(i for i in origins[parent.key] if i not in ids)
                tell(what, min(start + CHUNK, len(parents)), len(parents))
            frontier, origins = following, following_origins


def to_csv(found: list[Found], date: str) -> bytes:
    """The works as the CSV stored in searches/: one row per distinct work, its paths in the
    chase_ columns (one value per path, one per line of the cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *PATH_COLUMNS, "chase_date"])
    for item in found:
        w = item.work
        paths = item.paths

        def joined(values: Iterable[str]) -> str:
            return PATH_SEPARATOR.join(safe_text(v) for v in values)

        # Every field cleaned of control characters (a NUL, an ESC in one title): the importer's
        # text sniffer would refuse the whole stored file, and with it the whole chase.
        fields = [
            f"{w.source}:{w.key}",
            w.title or "[no title given by the source]",
            "; ".join(a.replace(";", ",") for a in w.authors),
            w.year or "",
            w.journal,
            w.volume,
            w.issue,
            w.pages,
            w.doi,
            w.pmid,
            w.abstract,
        ]
        writer.writerow(
            [
                *(safe_text(f) for f in fields),
                joined(p.seed for p in paths),
                joined(p.direction for p in paths),
                joined(str(p.depth) for p in paths),
                joined(p.source for p in paths),
                joined(p.via or "-" for p in paths),
                date,
            ]
        )
    return out.getvalue().encode("utf-8")


def store(review: Review, name: str, result: ChaseResult, stage: str, ids: Iterable[str] = ()) -> Search:
    """Write the chase's works as a new search of kind `citations` (raw CSV plus provenance)."""
    from ..importers import parse_bytes

    today = dt.date.today().isoformat()
    data = to_csv(result.found, today)
    labels = {"openalex": "OpenAlex", "europepmc": "Europe PMC"}
    ids = list(ids)
    origin = f"records {', '.join(ids)}" if ids else f"studies included at {stage}"
    query = (
        f"citation chase: {' and '.join(result.directions)}, depth {result.depth}, "
        f"from {len(result.seeds)} {origin}: {', '.join(s.record_id for s in result.seeds)}"
    )
    notes = []
    if result.without_ids:
        notes.append(
            "seeds without DOI or PMID, not chased: " + ", ".join(s.record_id for s in result.without_ids)
        )
    for source, missing in result.not_found.items():
        notes.append(f"seeds {labels.get(source, source)} does not know: {', '.join(missing)}")
    for source, why in result.failed.items():
        notes.append(f"{labels.get(source, source)} failed, none of its works kept: {why}")
    database = "; ".join(labels.get(s, s) for s in result.sources if s not in result.failed)
    with review.lock():
        if review.search(name) is not None:
            raise ScreenerError(
                f"search {name!r} exists already",
                hint="name this chase with another --search (each chase is one search)",
            )
        if not result.found:  # a chase that found nothing is a search with no file, not an empty one
            review.import_target(name, database, today, query, "citations", review.current_round())
            search = Search(name, database, query, today, kind="citations", notes="; ".join(notes))
            review.save_search(search)
            result.search = search
            return search
        parsed = parse_bytes(data, f"{name}.csv", "csv", name)
        parsed.data = data
        for other in review.searches():
            same = next((f for f in other.files if f.sha256 == parsed.sha256), None)
            if same is not None:
                raise ScreenerError(
                    f"this chase found exactly what search {other.name!r} holds (searches/{same.path}); "
                    "nothing was written",
                    hint="chase other seeds, directions or sources, or another day",
                )
        review.import_file(
            f"{name}.csv",
            name,
            parsed=parsed,
            database=database,
            date_searched=today,
            query=query,
            kind="citations",
        )
        search = review.search(name)
        assert search is not None
        if notes:
            search.notes = "; ".join(notes)
            review.save_search(search)
    result.search = search
    return search


def provenance(records: Iterable[Record]) -> dict[str, list[FoundPath]]:
    """Record id -> the paths by which a chase found it, from the stored chase_ columns."""
    out: dict[str, list[FoundPath]] = {}
    for record in records:
        extra = record.extra or {}
        if "chase_seed" not in extra:
            continue
        columns = [[v.strip() for v in str(extra.get(c, "")).splitlines()] for c in PATH_COLUMNS]
        for seed, direction, depth, source, via in zip(*columns, strict=False):
            if not seed:
                continue
            try:
                level = int(depth)
            except ValueError:
                level = 0
            path = FoundPath(seed, direction, level, source, "" if via == "-" else via)
            paths = out.setdefault(record.id, [])
            if path not in paths:
                paths.append(path)
    return out
