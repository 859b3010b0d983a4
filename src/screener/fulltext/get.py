"""`screener fulltext get`: open-access copies of the reports still missing, from an ordered
list of sources (review.toml's `[full_text] sources`).

For each record at the full-text stage whose state is `needs_manual_retrieval`, each source in
turn is asked where an open-access PDF is (Europe PMC: the open-access subset by PMCID, found
from the record's PMCID, PMID or DOI; Unpaywall: `best_oa_location.url_for_pdf` by DOI;
OpenAlex: `best_oa_location.pdf_url` or `open_access.oa_url` by DOI or PMID); the first PDF
that downloads and is a PDF wins. It then goes through the checks `attach` makes (text layer,
the record's title on the first pages, no other record's match): `prepared` when they pass,
`needs_manual_preparation` with the reason when not, never silently. Only identifiers (and
Unpaywall's e-mail, OpenAlex's key) leave the machine; answers are cached (`net.JsonClient`)
and each report is written to the manifest as it arrives, so a run killed half-way resumes
where it stopped and a finished run asks nothing again.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import ScreenerError
from ..names import atomic_write_beneath
from ..net import (
    EUROPEPMC,
    OPENALEX,
    UNPAYWALL,
    Downloader,
    JsonClient,
    NetSettings,
    Refused,
    Service,
    base_url,
    clean_stale_downloads,
    load_settings,
)
from ..records import Record, normalise_doi
from ..schema import FULLTEXT_SOURCES
from . import reports, stage_records
from .manifest import (
    NEEDS_PREPARATION,
    NEEDS_RETRIEVAL,
    PREPARED,
    append,
    ensure_pdf_folder,
    new_entry,
    pdf_file_name,
)
from .match import ATTACH, Matcher
from .text import PdfProblem, extract, scan_hint

SOURCES = FULLTEXT_SOURCES
LABELS = {"europepmc": "Europe PMC", "unpaywall": "Unpaywall", "openalex": "OpenAlex"}
# Europe PMC serves the open-access subset's PDFs from its web site, not its REST host.
EUROPEPMC_PDF = "https://europepmc.org/"
EUROPEPMC_PDF_ENV = "SCREENER_EUROPEPMC_PDF_URL"
# Only its address (checked like every service's by net.base_url): the Downloader paces PDFs.
EUROPEPMC_PDFS = Service("Europe PMC PDF", EUROPEPMC_PDF, EUROPEPMC_PDF_ENV, per_second=EUROPEPMC.per_second)
# Records in flight at once: most of a record's time is spent waiting for a rate-limit slot,
# so several keep every host's limiter busy (each limiter still spaces its own requests).
WORKERS = 16

# What happened to each record.
FOUND = "found"  # a PDF was kept (its state says whether it passed the checks)
NOT_FOUND = "not_found"  # no source has an open-access PDF that downloads
NO_IDENTIFIER = "no_identifier"  # no DOI, PMID or PMCID: nothing can be asked


@dataclass
class Ids:
    doi: str
    pmid: str
    pmcid: str

    @classmethod
    def of(cls, record: Record) -> Ids:
        pmcid = ""
        for key, value in (record.extra or {}).items():
            if key.replace(" ", "").replace("_", "").casefold() in ("pmcid", "pmc"):
                text = str(value).strip().upper()
                if text.removeprefix("PMC").isdigit():
                    pmcid = "PMC" + text.removeprefix("PMC")
        return cls(normalise_doi(record.doi), record.pmid.strip(), pmcid)

    def any(self) -> bool:
        return bool(self.doi or self.pmid or self.pmcid)

    def asks(self, source: str) -> bool:
        """Whether `source` can be asked about a record with these identifiers."""
        if source == "unpaywall":
            return bool(self.doi)
        if source == "openalex":
            return bool(self.doi or self.pmid)
        return self.any()


@dataclass
class Outcome:
    record_id: str
    title: str
    outcome: str
    state: str = NEEDS_RETRIEVAL
    source: str = ""
    url: str = ""
    note: str = ""
    tried: list[str] = field(default_factory=list)  # "source: what it said", in order

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "outcome": self.outcome,
            "state": self.state,
            "source": self.source,
            "url": self.url,
            "note": self.note,
            "tried": self.tried,
        }


@dataclass
class GetResult:
    sources: list[str]
    outcomes: list[Outcome]
    requests: dict[str, int]
    cached: dict[str, int]

    def counts(self) -> dict[str, int]:
        out = {PREPARED: 0, NEEDS_PREPARATION: 0, NOT_FOUND: 0, NO_IDENTIFIER: 0}
        for o in self.outcomes:
            key = o.state if o.outcome == FOUND else o.outcome
            out[key] = out.get(key, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": False,
            "sources": self.sources,
            "records": len(self.outcomes),
            "counts": self.counts(),
            "requests": self.requests,
            "answered_from_cache": self.cached,
            "results": [o.to_dict() for o in self.outcomes],
        }


def configured_sources(review) -> list[str]:  # noqa: ANN001
    """review.toml's `[full_text] sources` (schema-checked), else all three in the default order."""
    listed = review.config.raw.get("full_text", {}).get("sources")
    return list(listed) if listed else list(SOURCES)


def wanted(review, ids: Iterable[str] = ()) -> list[Record]:  # noqa: ANN001
    """The records to look for: at the full-text stage with no file and nobody's word that no
    copy exists (state needs_manual_retrieval); with `ids`, those records (each checked)."""
    stage = stage_records(review)
    items = reports(review, stage)[0]
    chosen = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if chosen:
        by_id = {r.record.id: r for r in items}
        out = []
        for record_id in chosen:
            study = stage[1].get(record_id)
            if study is None:
                raise ScreenerError(
                    f"--ids: no record {record_id!r} in this review",
                    hint="'screener fulltext status' lists the records at the full-text stage",
                )
            if study not in by_id:
                raise ScreenerError(
                    f"--ids: record {record_id} is not at the full-text stage "
                    "(not included at title-abstract)",
                    hint="'screener fulltext status' lists the records at the full-text stage",
                )
            if by_id[study].state == NEEDS_RETRIEVAL:
                out.append(by_id[study].record)
        return list({r.id: r for r in out}.values())
    return [r.record for r in items if r.state == NEEDS_RETRIEVAL]


def plan(records: list[Record], sources: list[str]) -> dict[str, Any]:
    """What a run would ask, counted without asking: at most one look-up per record and source
    that can be asked about it (the first source with a PDF ends a record's look-ups)."""
    ids = [Ids.of(r) for r in records]
    return {
        "dry_run": True,
        "sources": sources,
        "records": len(records),
        "without_doi_pmid_or_pmcid": [r.id for r, i in zip(records, ids, strict=True) if not i.any()],
        "lookups": {s: sum(i.asks(s) for i in ids) for s in sources},
    }


def check_environment(sources: list[str], environ: Mapping[str, str] | None = None) -> None:
    """Errors before anything is asked: Unpaywall needs an e-mail; base URLs must be addresses."""
    env = os.environ if environ is None else environ
    if "unpaywall" in sources and not env.get("UNPAYWALL_EMAIL", "").strip():
        raise ScreenerError(
            "Unpaywall needs an e-mail address and UNPAYWALL_EMAIL is not set",
            hint="export UNPAYWALL_EMAIL=you@example.org (it is sent to Unpaywall with each DOI), "
            "or leave unpaywall out of [full_text] sources in review.toml",
        )
    for service in (EUROPEPMC, UNPAYWALL, OPENALEX, EUROPEPMC_PDFS):
        base_url(service, env)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Finder:
    """Asks the sources where a record's open-access PDF is; one JsonClient per source."""

    def __init__(
        self,
        sources: list[str],
        settings: NetSettings | None = None,
        environ: Mapping[str, str] | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        settings = settings or load_settings(env)
        services = {"europepmc": EUROPEPMC, "unpaywall": UNPAYWALL, "openalex": OPENALEX}
        self.sources = sources
        self.clients = {
            s: JsonClient(services[s], settings, environ=env, on_retry=on_retry, paced=True) for s in sources
        }
        self.pdf_base = base_url(EUROPEPMC_PDFS, env)
        for client in self.clients.values():
            _ = client.session  # opened before the threads share it

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def locate(self, source: str, ids: Ids) -> tuple[str, str]:
        """(the PDF's URL, '') or ('', why there is none)."""
        return getattr(self, "_" + source)(self.clients[source], ids)

    def _europepmc(self, client: JsonClient, ids: Ids) -> tuple[str, str]:
        if ids.pmcid:
            query = f"PMCID:{ids.pmcid}"
        elif ids.pmid:
            query = f"EXT_ID:{ids.pmid} AND SRC:MED"
        else:
            query = f'DOI:"{ids.doi}"'
        data = client.get_json(
            "webservices/rest/search", {"query": query, "resultType": "core", "format": "json", "pageSize": 5}
        )
        results = _dict(_dict(data).get("resultList")).get("result") or []
        for item in results if isinstance(results, list) else []:
            item = _dict(item)
            same = (
                (ids.pmcid and str(item.get("pmcid", "")).upper() == ids.pmcid)
                or (ids.pmid and str(item.get("pmid", "")) == ids.pmid)
                or (ids.doi and normalise_doi(str(item.get("doi", ""))) == ids.doi)
            )
            if not same:
                continue
            pmcid = str(item.get("pmcid") or "").upper()
            if item.get("isOpenAccess") != "Y" or not pmcid.removeprefix("PMC").isdigit():
                return "", "not in the open-access subset"
            return f"{self.pdf_base}articles/{pmcid}?pdf=render", ""
        return "", "not found"

    def _unpaywall(self, client: JsonClient, ids: Ids) -> tuple[str, str]:
        data = client.get_json(f"v2/{urllib.parse.quote(ids.doi, safe='/')}")
        if data is None:
            return "", "not found"
        data = _dict(data)
        locations = [_dict(data.get("best_oa_location"))] + [
            _dict(x) for x in data.get("oa_locations") or [] if isinstance(data.get("oa_locations"), list)
        ]
        for location in locations:
            url = str(location.get("url_for_pdf") or "")
            if url:
                return url, ""
        return "", "no open-access PDF" if data.get("is_oa") is not True else "open access, but no PDF link"

    def _openalex(self, client: JsonClient, ids: Ids) -> tuple[str, str]:
        key = f"doi:{urllib.parse.quote(ids.doi, safe='/')}" if ids.doi else f"pmid:{ids.pmid}"
        data = client.get_json(f"works/{key}", {"select": "id,doi,best_oa_location,open_access"})
        if data is None:
            return "", "not found"
        data = _dict(data)
        url = str(_dict(data.get("best_oa_location")).get("pdf_url") or "")
        url = url or str(_dict(data.get("open_access")).get("oa_url") or "")
        return (url, "") if url else ("", "no open-access copy")

    def requests(self) -> dict[str, int]:
        return {s: c.requests for s, c in self.clients.items()}

    def cached(self) -> dict[str, int]:
        return {s: c.cached for s, c in self.clients.items()}


@dataclass
class _Fetched:
    outcome: Outcome
    download: Any = None  # net.Download of the PDF kept, not yet in the review


def _judge(data: bytes, record: Record, matcher: Matcher) -> tuple[str, str]:
    """The state a fetched PDF gets and why, as `attach` decides: prepared only when the
    record's title stands on its first pages and no other record claims it."""
    pdf = extract(data, record.id)
    if not pdf.has_text_layer():
        return NEEDS_PREPARATION, scan_hint()
    match = matcher.match(pdf.text, pdf.metadata)
    if match.outcome == ATTACH and match.record_id != record.id:
        return NEEDS_PREPARATION, f"the PDF looks like record {match.record_id}'s (wrong file?)"
    ours = next((c for c in match.candidates if c.record_id == record.id), None)
    if ours is None or not ours.exact:
        return NEEDS_PREPARATION, "the record's title is not in the first pages (wrong file?)"
    return PREPARED, ""


def get(
    review,  # noqa: ANN001
    records: list[Record],
    sources: list[str],
    who: str,
    *,
    finder: Finder | None = None,
    downloader: Downloader | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> GetResult:
    """Look for each record's PDF; each one kept is written to fulltext/pdf/ and the manifest
    at once (a run killed half-way keeps what it wrote)."""
    check_environment(sources)
    clean_stale_downloads()  # what a run killed or interrupted before left in the cache
    finder = finder or Finder(sources, on_retry=on_retry)
    downloader = downloader or Downloader(on_retry=on_retry)
    matcher = Matcher(stage_records(review)[0])
    # One PDF read at a time: reading is CPU-bound under the GIL anyway, and a thread holding
    # it for long would hold back the requests other threads have a rate-limit slot for (a
    # request arriving late bunches with the next ones and the server answers 429).
    reading = threading.Lock()

    def one(record: Record) -> _Fetched:
        ids = Ids.of(record)
        outcome = Outcome(record.id, record.title, NOT_FOUND)
        if not ids.any():
            outcome.outcome = NO_IDENTIFIER
            return _Fetched(outcome)
        for source in sources:
            if not ids.asks(source):
                continue
            url, why = finder.locate(source, ids)
            if not url:
                outcome.tried.append(f"{source}: {why}")
                continue
            try:
                download = downloader.fetch(url)
            except Refused as exc:
                outcome.tried.append(f"{source}: {url} {exc}")
                continue
            try:
                with reading:
                    state, note = _judge(download.path.read_bytes(), record, matcher)
            except PdfProblem as exc:
                download.discard()
                outcome.tried.append(f"{source}: {url} {str(exc).removeprefix(record.id + ': ')}")
                continue
            except BaseException:
                download.discard()  # whatever stops the run, no .part stays in the user's cache
                raise
            outcome.outcome, outcome.state, outcome.source = FOUND, state, source
            outcome.url, outcome.note = download.url, note
            outcome.tried.append(f"{source}: {state}")
            return _Fetched(outcome, download)
        return _Fetched(outcome)

    outcomes: list[Outcome] = []
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    try:
        for done, fetched in enumerate(pool.map(one, records), start=1):
            outcomes.append(fetched.outcome)
            if fetched.download is not None:
                _keep(review, fetched, who)
            if progress:
                progress(done, len(records))
    finally:
        # Interrupted (Ctrl-C, a source that cannot be reached): what waits is not started.
        pool.shutdown(wait=True, cancel_futures=True)
        finder.close()
        downloader.close()
    return GetResult(list(sources), outcomes, _total(finder.requests(), downloader), finder.cached())


def _total(requests: dict[str, int], downloader: Downloader) -> dict[str, int]:
    return {**requests, "pdf": downloader.requests}


def _keep(review, fetched: _Fetched, who: str) -> None:  # noqa: ANN001
    """The PDF into fulltext/pdf/ (named from the record id) and its manifest line."""
    outcome, download = fetched.outcome, fetched.download
    try:
        data = download.path.read_bytes()
        with review.lock():
            target = ensure_pdf_folder(review.root)
            file_name = pdf_file_name(outcome.record_id)
            atomic_write_beneath(target / file_name, data, folders=2)
            entry = new_entry(
                outcome.record_id,
                outcome.state,
                who,
                sha256=download.sha256,
                file=file_name,
                source=outcome.source,
                url=outcome.url,
                note=outcome.note,
            )
            append(review.root, [entry])
    finally:
        download.discard()
