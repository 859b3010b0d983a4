"""Run a PubMed query through Entrez into a review: ESearch with the history server, batched
EFetch of MEDLINE records, date slicing past PubMed's 9,999-record ESearch limit, and resume.

Work in progress lives in `.screener/searches/NAME/` (a state file and one MEDLINE file per
finished batch, each written atomically). Only when every batch is in is the search written to
`searches/NAME.nbib` and `searches/NAME.toml`; a search that is killed resumes from its last
complete batch.

The saved state is checked in full before a resume (a damaged one is an error that says to
pass --restart: what was planned cannot be guessed), and every batch file is checked against
the PMIDs the state lists for it, like a batch just fetched; a missing or altered batch is
fetched again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from Bio import Medline

from ..errors import ScreenerError
from ..names import atomic_write_beneath, check_name, inside, read_regular_bytes
from ..review import Review, Search, SearchFile, environment_summary, import_time, now_iso
from ..schema import DATETYPES
from ..textio import atomic_write_bytes, atomic_write_text
from .entrez import EntrezClient, EntrezSettings, HistoryExpired, TransientError

ESEARCH_LIMIT = 9999  # PubMed's ESearch will not page past this many ids
BATCH_SIZE = 500
EARLIEST = dt.date(1781, 1, 1)  # older than anything indexed in PubMed


def _latest() -> dt.date:
    """The end of next year: publication dates of articles in press run ahead of today."""
    return dt.date(dt.date.today().year + 1, 12, 31)


Progress = Callable[[int, int], None]


@dataclass
class PubmedSearchResult:
    search: Search
    count: int
    fetched: int
    requests: int
    resumed: bool


def _date(text: str) -> dt.date:
    parts = [int(p) for p in text.replace("-", "/").split("/") if p]
    while len(parts) < 3:
        parts.append(1)
    return dt.date(*parts[:3])


def _end_date(text: str) -> dt.date:
    """A maxdate given as a year or year/month means its last day."""
    parts = [p for p in text.replace("-", "/").split("/") if p]
    if len(parts) == 1:
        return dt.date(int(parts[0]), 12, 31)
    if len(parts) == 2:
        year, month = int(parts[0]), int(parts[1])
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return following - dt.timedelta(days=1)
    return _date(text)


def _fmt(day: dt.date) -> str:
    return day.strftime("%Y/%m/%d")


def _medline_blocks(text: str) -> list[str]:
    """The records of a MEDLINE text, each as written (blank lines separate them)."""
    blocks = (block.strip("\n") for block in text.replace("\r\n", "\n").split("\n\n"))
    return [block for block in blocks if block]


def _medline_pmids(data: bytes) -> list[str]:
    """PMIDs of a MEDLINE batch, in order; an unreadable batch is a transient failure."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TransientError(f"MEDLINE batch is not UTF-8 (byte {exc.start})") from None
    if "<ERROR>" in text or "<eFetchResult" in text:
        raise HistoryExpired(text[:300])
    try:
        return [r.get("PMID", "") for r in Medline.parse(io.StringIO(text)) if r]
    except Exception as exc:  # a cut-off body can break the parser anywhere
        raise TransientError(f"unreadable MEDLINE batch ({exc})") from None


_PMID = re.compile(r"[0-9]{1,10}")
_PARAMETERS = ("query", "mindate", "maxdate", "datetype")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _slice_problem(piece: object, batch_size: int) -> str | None:
    if not isinstance(piece, dict):
        return "is not a table"
    for key in ("mindate", "maxdate", "webenv", "query_key"):
        if not isinstance(piece.get(key), str):
            return f"'{key}' is not a string"
    for key in ("mindate", "maxdate"):
        if piece[key]:
            try:
                _date(piece[key])
            except (ValueError, TypeError):
                return f"'{key}' {piece[key]!r} is not a date"
    count, ids, done = piece.get("count"), piece.get("ids"), piece.get("done")
    if not _is_int(count) or count < 0:
        return "'count' is not a whole number"
    if not isinstance(ids, list) or not all(isinstance(i, str) and _PMID.fullmatch(i) for i in ids):
        return "'ids' is not a list of PMIDs"
    if len(ids) != count:
        return f"it lists {len(ids)} PMIDs for a count of {count}"
    if not isinstance(done, list) or not all(_is_int(r) for r in done):
        return "'done' is not a list of whole numbers"
    if len(set(done)) != len(done) or any(r < 0 or r >= count or r % batch_size for r in done):
        return f"'done' holds batch starts that are not multiples of {batch_size} below {count}"
    return None


def _state_problem(state: object, batch_size: int) -> str | None:
    """What is wrong with a saved search state (it is read back from disk), or None."""
    if not isinstance(state, dict):
        return "not a JSON object"
    parameters = state.get("parameters")
    if not isinstance(parameters, dict) or not all(isinstance(parameters.get(k), str) for k in _PARAMETERS):
        return "'parameters' is not a table of " + ", ".join(_PARAMETERS)
    for key in ("started", "query_translation"):
        if not isinstance(state.get(key), str):
            return f"'{key}' is not a string"
    if not _is_int(state.get("count")) or state["count"] < 0:
        return "'count' is not a whole number"
    if not _is_int(state.get("uncovered", 0)):
        return "'uncovered' is not a whole number"
    if not isinstance(state.get("slices"), list):
        return "'slices' is not a list"
    for index, piece in enumerate(state["slices"]):
        problem = _slice_problem(piece, batch_size)
        if problem:
            return f"date slice {index}: {problem}"
    return None


class PubmedSearch:
    """One PubMed search run into one review search name."""

    def __init__(
        self,
        review: Review,
        name: str,
        query: str,
        *,
        mindate: str = "",
        maxdate: str = "",
        datetype: str = "edat",
        settings: EntrezSettings,
        client: EntrezClient | None = None,
        progress: Progress | None = None,
        batch_size: int = BATCH_SIZE,
        esearch_limit: int = ESEARCH_LIMIT,
    ) -> None:
        if datetype not in DATETYPES:
            raise ScreenerError(f"--datetype must be one of {', '.join(DATETYPES)}")
        if not query.strip():
            raise ScreenerError("the query is empty", hint="pass --query or --query-file")
        for label, value in (("--mindate", mindate), ("--maxdate", maxdate)):
            if value:
                try:
                    _date(value)
                except (ValueError, TypeError):
                    raise ScreenerError(
                        f"{label} {value!r} is not a date", hint="use YYYY, YYYY/MM or YYYY/MM/DD"
                    ) from None
        # The name becomes a folder that --restart deletes: never '..' or a path.
        self.name = check_name(name, "search name")
        self.review = review
        self.query = query.strip()
        self.mindate, self.maxdate, self.datetype = mindate, maxdate, datetype
        self.settings = settings
        self.client = client or EntrezClient(settings)
        self.progress = progress
        self.batch_size = batch_size
        self.esearch_limit = esearch_limit
        self.work_dir = inside(review.cache_dir, "searches", self.name, what="search")
        self.state_path = self.work_dir / "state.json"

    # -- state ------------------------------------------------------------------------

    def _parameters(self) -> dict[str, str]:
        return {
            "query": self.query,
            "mindate": self.mindate,
            "maxdate": self.maxdate,
            "datetype": self.datetype,
        }

    def _load_state(self) -> dict[str, Any] | None:
        if not self.state_path.exists() and not self.state_path.is_symlink():
            return None
        try:
            state = json.loads(read_regular_bytes(self.state_path).decode("utf-8"))
            problem = _state_problem(state, self.batch_size)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            problem = f"not readable JSON: {exc}"
        if problem:
            raise ScreenerError(
                f"the saved state of the interrupted search {self.name!r} is damaged ({problem})",
                path=self.state_path,
                hint="run the command again with --restart to start this search afresh",
            )
        if state.get("parameters") != self._parameters():
            raise ScreenerError(
                f"an interrupted search {self.name!r} with other parameters is waiting to resume "
                f"({state.get('parameters')})",
                hint="run it again with the same query and limits, or pass --restart",
            )
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        atomic_write_text(self.state_path, json.dumps(state, indent=1))

    def discard_state(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _notice(self, message: str) -> None:
        if self.client.on_retry:  # the CLI prints these above the progress bar
            self.client.on_retry(message)

    def _batch_problem(self, state: dict[str, Any], index: int, retstart: int) -> str | None:
        """Why a finished batch's file cannot be used (missing, altered), or None."""
        expected = state["slices"][index]["ids"][retstart : retstart + self.batch_size]
        try:
            got = _medline_pmids(read_regular_bytes(self._batch_path(index, retstart)))
        except ScreenerError as exc:
            return exc.message
        except (TransientError, HistoryExpired):
            return "is not a readable MEDLINE batch"
        if len(got) != len(expected) or set(got) != set(expected):
            return f"holds other records than the {len(expected)} PMIDs listed for it"
        return None

    def _drop_bad_batches(self, state: dict[str, Any]) -> None:
        """A finished batch whose file is missing or altered is fetched again."""
        changed = False
        for index, piece in enumerate(state["slices"]):
            for retstart in list(piece["done"]):
                problem = self._batch_problem(state, index, retstart)
                if problem:
                    self._notice(f"{self._batch_path(index, retstart).name} {problem}; fetching it again")
                    piece["done"].remove(retstart)
                    with contextlib.suppress(OSError):
                        self._batch_path(index, retstart).unlink()
                    changed = True
        if changed:
            self._save_state(state)

    # -- slicing ----------------------------------------------------------------------

    def _esearch_slice(self, lo: dt.date | None, hi: dt.date | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"retmax": self.esearch_limit}
        if lo or hi:
            kwargs.update(mindate=_fmt(lo or EARLIEST), maxdate=_fmt(hi or _latest()), datetype=self.datetype)
        return self.client.esearch(self.query, **kwargs)

    def _plan(self) -> dict[str, Any]:
        """ESearch the query and cut it into date slices of at most `esearch_limit` records.

        A range that is too big is halved; only the later half is searched, the earlier half's
        count is the difference, so empty halves cost nothing and every slice that is kept is
        searched exactly once (for its ids and its own WebEnv).
        """
        lo = _date(self.mindate) if self.mindate else None
        hi = _end_date(self.maxdate) if self.maxdate else None
        first = self._esearch_slice(lo, hi)
        slices: list[dict[str, Any]] = []
        pending: list[tuple[dt.date | None, dt.date | None, int, dict[str, Any] | None]] = [
            (lo, hi, first["count"], first)
        ]
        while pending:
            a, b, count, result = pending.pop(0)
            if count <= 0:
                continue
            if count <= self.esearch_limit:
                result = result or self._esearch_slice(a, b)
                if result["count"] > self.esearch_limit:  # PubMed grew since the count was taken
                    pending.insert(0, (a, b, result["count"], result))
                elif result["count"]:
                    slices.append(self._slice_state(a, b, result))
                continue
            start, end = a or EARLIEST, b or _latest()
            if start >= end:
                raise ScreenerError(
                    f"more than {self.esearch_limit} records share the {self.datetype} date "
                    f"{_fmt(start)}; PubMed cannot page past that",
                    hint="narrow the query, or use another --datetype",
                )
            middle = start + (end - start) // 2
            later = self._esearch_slice(middle + dt.timedelta(days=1), end)
            pending[:0] = [
                (start, middle, count - later["count"], None),
                (middle + dt.timedelta(days=1), end, later["count"], later),
            ]
        # PubMed can change between the ESearch calls, and records without a date of this
        # type fall outside every slice: the difference is kept and reported, not hidden.
        covered = sum(s["count"] for s in slices)
        return {
            "uncovered": first["count"] - covered,
            "parameters": self._parameters(),
            "started": now_iso(),
            "count": first["count"],
            "query_translation": first["query_translation"],
            "warnings": first["warnings"],
            "slices": slices,
        }

    @staticmethod
    def _slice_state(lo: dt.date | None, hi: dt.date | None, result: dict[str, Any]) -> dict[str, Any]:
        return {
            "mindate": _fmt(lo) if lo else "",
            "maxdate": _fmt(hi) if hi else "",
            "count": result["count"],
            "ids": result["ids"],
            "webenv": result["webenv"],
            "query_key": result["query_key"],
            "done": [],  # retstarts whose batch file is complete
        }

    # -- fetching ---------------------------------------------------------------------

    def _batch_path(self, slice_index: int, retstart: int) -> Path:
        return self.work_dir / f"slice{slice_index:04d}-{retstart:07d}.nbib"

    def _refresh_history(self, state: dict[str, Any], index: int) -> None:
        """The WebEnv expired: search the slice again and carry on if it holds the same ids."""
        piece = state["slices"][index]
        lo = _date(piece["mindate"]) if piece["mindate"] else None
        hi = _date(piece["maxdate"]) if piece["maxdate"] else None
        fresh = self._esearch_slice(lo, hi)
        if fresh["ids"] != piece["ids"]:
            # PubMed changed under us: start this slice again (the final merge drops repeats).
            for retstart in piece["done"]:
                self._batch_path(index, retstart).unlink(missing_ok=True)
            state["slices"][index] = self._slice_state(lo, hi, fresh)
        else:
            piece["webenv"], piece["query_key"] = fresh["webenv"], fresh["query_key"]
        self._save_state(state)

    def _fetch_batch(self, state: dict[str, Any], index: int, retstart: int) -> None:
        piece = state["slices"][index]
        expected = piece["ids"][retstart : retstart + self.batch_size]

        def validate(data: bytes) -> bytes:
            got = _medline_pmids(data)
            if len(got) == len(expected) and set(got) == set(expected):
                return data
            if len(got) < len(expected) and set(got) <= set(expected):
                raise TransientError(
                    f"batch at {retstart} holds {len(got)} of {len(expected)} records (truncated)"
                )
            raise HistoryExpired("the batch does not hold the ids ESearch listed")

        for _ in range(3):
            try:
                data = self.client.efetch_medline(
                    piece["webenv"], piece["query_key"], retstart, self.batch_size, validate
                )
                break
            except HistoryExpired:
                self._refresh_history(state, index)
                piece = state["slices"][index]
                expected = piece["ids"][retstart : retstart + self.batch_size]
        else:
            raise ScreenerError("NCBI's history server kept losing the search; try again later")
        atomic_write_bytes(self._batch_path(index, retstart), data)
        piece["done"].append(retstart)
        self._save_state(state)

    def run(self, restart: bool = False) -> PubmedSearchResult:
        # The review's lock, like import and update: an import into this name while the search
        # runs waits, then finds the search (two runs of one name would share the state too).
        with self.review.lock():
            return self._run(restart)

    def _run(self, restart: bool) -> PubmedSearchResult:
        self.review.refuse_name_clash(self.name)
        if self.review.search(self.name) is not None:
            raise ScreenerError(
                f"search {self.name!r} exists already",
                hint="use another --search name, or 'screener update' to add new records",
            )
        if restart:
            self.discard_state()
        state = self._load_state()
        resumed = state is not None
        if state is not None:
            self._drop_bad_batches(state)
        else:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            state = self._plan()
            self._save_state(state)
        total = sum(s["count"] for s in state["slices"])
        fetched = sum(min(self.batch_size, s["count"] - r) for s in state["slices"] for r in s["done"])
        if self.progress:
            self.progress(fetched, total)
        for index, piece in enumerate(state["slices"]):
            for retstart in range(0, piece["count"], self.batch_size):
                if retstart in state["slices"][index]["done"]:
                    continue
                self._fetch_batch(state, index, retstart)
                fetched += min(self.batch_size, state["slices"][index]["count"] - retstart)
                if self.progress:
                    self.progress(fetched, total)
        search = self._finish(state)
        return PubmedSearchResult(search, state["count"], search.record_count, self.client.requests, resumed)

    def _finish(self, state: dict[str, Any]) -> Search:
        """Merge the batches (each PMID once, in PubMed's order) into the review, atomically."""
        seen: set[str] = set()
        chunks: list[str] = []
        for index, piece in enumerate(state["slices"]):
            for retstart in sorted(piece["done"]):
                problem = self._batch_problem(state, index, retstart)
                if problem:  # checked when the run began; changed while it ran
                    raise ScreenerError(
                        f"{problem}; run the command again to fetch it anew",
                        path=self._batch_path(index, retstart),
                    )
                text = read_regular_bytes(self._batch_path(index, retstart)).decode("utf-8")
                for block in _medline_blocks(text):
                    pmid = next(
                        (line[6:].strip() for line in block.splitlines() if line.startswith("PMID-")), ""
                    )
                    if pmid and pmid in seen:
                        continue
                    seen.add(pmid)
                    chunks.append(block)
        files = []
        if chunks:  # a query with no hits is a search with no file, not an empty export
            body = ("\n\n".join(chunks) + "\n").encode("utf-8")
            # Named by its content (x-<sha256[:8]>.nbib): two clones searching under one name
            # never store two exports at one path.
            stored = self.review.free_file_name(self.name, ".nbib", hashlib.sha256(body).hexdigest())
            atomic_write_beneath(self.review.searches_dir / stored, body)
            files.append(
                SearchFile(
                    path=stored,
                    format="medline",
                    sha256=hashlib.sha256(body).hexdigest(),
                    records=len(chunks),
                    imported=import_time(),
                )
            )
        search = Search(
            name=self.name,
            database="MEDLINE (PubMed)",
            source="pubmed",
            query=self.query,
            date_searched=dt.date.today().isoformat(),
            files=files,
            pubmed={
                "query_translation": state["query_translation"],
                "count": state["count"],
                "date_run": now_iso(),
                "started": state["started"],
                "mindate": self.mindate,
                "maxdate": self.maxdate,
                "datetype": self.datetype,
                "date_slices": len(state["slices"]),
                "count_not_in_date_slices": state.get("uncovered", 0),
                "pmids_fetched": len(seen),
                **{f"{k}_version": v for k, v in environment_summary().items()},
            },
        )
        try:
            self.review.save_search(search)
        except BaseException:
            # A search that cannot be recorded leaves no file behind: a rerun starts clean.
            for item in files:
                (self.review.searches_dir / item.path).unlink(missing_ok=True)
            raise
        self.discard_state()
        return search


@dataclass
class PubmedUpdate:
    """What re-running a saved PubMed search found."""

    search: str
    count: int  # records the query finds today
    known: int  # PMIDs the search already had
    new: int  # PMIDs it did not have, fetched now
    since_last_run: int | None  # of the new ones, entered into PubMed since the last run
    indexed_late: int | None  # new ones with an earlier entry date (indexed or changed late)
    stored_as: str  # the new MEDLINE file in searches/, "" when nothing was new (or not yet written)
    requests: int
    last_run: str
    round: int = 0
    body: bytes = b""  # the new records as MEDLINE, until written
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ("body", "provenance")}


def _last_run(search: Search) -> str:
    # searches/NAME.toml comes from collaborators: a malformed [pubmed] table gives no date.
    updates = search.pubmed.get("updates", [])
    last = updates[-1] if isinstance(updates, list) and updates else search.pubmed
    value = last.get("date_run") if isinstance(last, dict) else None
    return str(value or search.date_searched or "")


def _day(text: str) -> dt.date | None:
    try:
        return _date(text[:10])
    except (ValueError, TypeError):
        return None


def update_pubmed(
    review: Review,
    name: str,
    *,
    round: int,
    settings: EntrezSettings,
    client: EntrezClient | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    esearch_limit: int = ESEARCH_LIMIT,
) -> PubmedUpdate:
    """Run a saved PubMed search again and add the records it did not have as a new file.

    The whole query is searched again (in date slices, ids only) and diffed by PMID against
    what the search holds, so records indexed late are caught as well as those entered since
    the last run; a second ESearch limited to entry dates since the last run tells the two
    apart. Only the new PMIDs are fetched. Nothing is written here: `write_pubmed_update`
    stores the result, so an update of several searches writes all of them or none.
    """
    search = review.search(name)
    if search is None:
        raise ScreenerError(f"no search {name!r} in this review", hint="'screener status' lists them")
    if search.source != "pubmed":
        raise ScreenerError(
            f"search {name!r} was imported from a file, not run through PubMed",
            hint=f"import the new export instead: screener update --import {name}=FILE",
        )
    # The runner only plans (ESearch, ids only): it keeps no state under the search's name.
    runner = PubmedSearch(
        review,
        name,
        search.query,
        mindate=str(search.pubmed.get("mindate", "")),
        datetype=str(search.pubmed.get("datetype", "edat")) or "edat",
        settings=settings,
        client=client,
        batch_size=batch_size,
        esearch_limit=esearch_limit,
    )
    client = runner.client
    known = {r.pmid for r in review.records(name) if r.pmid}
    plan = runner._plan()
    found: list[str] = []
    seen: set[str] = set()
    for piece in plan["slices"]:
        for pmid in piece["ids"]:
            if pmid not in seen:
                seen.add(pmid)
                found.append(pmid)
    new = [pmid for pmid in found if pmid not in known]

    last_run = _last_run(search)
    since: int | None = None
    late: int | None = None
    last_day = _day(last_run)
    if new and last_day is not None:
        recent = client.esearch(
            search.query,
            retmax=esearch_limit,
            mindate=_fmt(last_day),
            maxdate=_fmt(_latest()),
            datetype="edat",
        )
        if recent["count"] <= esearch_limit:
            recent_ids = set(recent["ids"])
            since = sum(pmid in recent_ids for pmid in new)
            late = len(new) - since

    chunks: list[str] = []
    if progress:
        progress(0, len(new))
    for start in range(0, len(new), batch_size):
        expected = new[start : start + batch_size]

        def validate(data: bytes, expected: list[str] = expected) -> bytes:
            got = _medline_pmids(data)
            if set(got) != set(expected):
                raise TransientError(f"EFetch returned {len(got)} of {len(expected)} records")
            return data

        data = client.efetch_medline_ids(expected, validate)
        chunks.extend(_medline_blocks(data.decode("utf-8")))
        if progress:
            progress(min(start + batch_size, len(new)), len(new))

    record: dict[str, Any] = {
        "date_run": now_iso(),
        "count": plan["count"],
        "new": len(new),
        "query_translation": plan["query_translation"],
        "round": round,
    }
    if since is not None:
        record.update(since_last_run=since, indexed_late=late)
    body = ("\n\n".join(chunks) + "\n").encode("utf-8") if chunks else b""
    return PubmedUpdate(
        name,
        plan["count"],
        len(known),
        len(new),
        since,
        late,
        "",
        client.requests,
        last_run,
        round,
        body,
        record,
    )


def write_pubmed_update(review: Review, update: PubmedUpdate) -> None:
    """Store an update: the new records as a MEDLINE file of the search, and the run in its
    provenance (`[[pubmed.updates]]`), so a search that found nothing still records its run."""
    with review.lock():  # re-entrant: update_review holds it already; a caller on its own may not
        _write_pubmed_update(review, update)


def _write_pubmed_update(review: Review, update: PubmedUpdate) -> None:
    search = review.search(update.search)
    if search is None:
        raise ScreenerError(f"no search {update.search!r} in this review")
    today = dt.date.today().isoformat()
    record = dict(update.provenance)
    if update.body:
        # Named by its content too: two clones updating on one day store two names, which git
        # merges (the same name with other content was an add/add conflict in a raw export).
        digest = hashlib.sha256(update.body).hexdigest()
        update.stored_as = review.free_file_name(f"{update.search}-update-{today}-{digest[:8]}", ".nbib")
        atomic_write_beneath(review.searches_dir / update.stored_as, update.body)
        search.files.append(
            SearchFile(
                path=update.stored_as,
                format="medline",
                sha256=hashlib.sha256(update.body).hexdigest(),
                records=update.new,
                imported=import_time(),
                round=update.round,
                date_searched=today,
            )
        )
        record["file"] = update.stored_as
    search.pubmed.setdefault("updates", []).append(record)
    try:
        review.save_search(search)
    except BaseException:
        if update.stored_as:
            (review.searches_dir / update.stored_as).unlink(missing_ok=True)
        raise
