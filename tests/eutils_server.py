"""A local NCBI E-utilities server for tests and benchmarks: real HTTP on 127.0.0.1.

It answers ESearch (with the history server) and EFetch (MEDLINE text) over a set of PubMed
records, which are either generated here or taken from recorded NCBI responses, and injects
faults on demand: 429, 503, a slow answer, a body cut short, an expired WebEnv (400). Every
request is logged with its time, so tests can check the client's rate limit and resume.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

ESEARCH_DOCTYPE = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)


@dataclass
class PubmedRecord:
    pmid: str
    date: dt.date
    medline: str


def generated_medline(pmid: str, date: dt.date) -> str:
    """A MEDLINE record in PubMed's layout (tags padded to four, continuation indented six)."""
    n = int(pmid)
    return "\n".join(
        [
            f"PMID- {pmid}",
            "OWN - NLM",
            "STAT- MEDLINE",
            f"DP  - {date.year} {date.strftime('%b')}",
            f"TI  - Outcome of liver resection for neuroendocrine liver metastases: cohort {n}",
            "      of a multicentre registry.",
            f"PG  - {n % 900 + 1}-{n % 900 + 9}",
            f"LID - 10.5555/test.{pmid} [doi]",
            f"AB  - BACKGROUND: Patients with neuroendocrine liver metastases (cohort {n}) were",
            "      followed after hepatectomy. RESULTS: Survival was reported.",
            f"FAU - Author{n % 97}, Alice",
            f"AU  - Author{n % 97} A",
            "FAU - Second, Bob",
            "AU  - Second B",
            "LA  - eng",
            "PT  - Journal Article",
            "TA  - HPB (Oxford)",
            "JT  - HPB : the official journal of the International Hepato Pancreato Biliary Association",
            f"VI  - {n % 30 + 1}",
            f"EDAT- {date.strftime('%Y/%m/%d')} 06:00",
            f"SO  - HPB (Oxford). {date.year};{n % 30 + 1}:{n % 900 + 1}-{n % 900 + 9}.",
        ]
    )


def generate_records(
    count: int, start_pmid: int = 20000001, first_day: dt.date = dt.date(2001, 1, 1), days: int = 4000
) -> list[PubmedRecord]:
    """`count` records spread evenly over `days` days, newest first (as PubMed lists them)."""
    records = []
    for i in range(count):
        date = first_day + dt.timedelta(days=(i * days) // max(count, 1))
        pmid = str(start_pmid + i)
        records.append(PubmedRecord(pmid, date, generated_medline(pmid, date)))
    return sorted(records, key=lambda r: (r.date, r.pmid), reverse=True)


def records_from_medline_text(text: str, date: dt.date = dt.date(2006, 1, 1)) -> list[PubmedRecord]:
    """Records from a recorded MEDLINE response, each kept byte for byte."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        block = block.strip("\n")
        pmid = next((line[6:].strip() for line in block.splitlines() if line.startswith("PMID-")), "")
        if pmid:
            out.append(PubmedRecord(pmid, date, block))
    return out


@dataclass
class Fault:
    endpoint: str  # "esearch" or "efetch"
    nth: int  # the nth request to that endpoint (1-based) gets it
    # "429", "503", "slow", "truncate", "short", "expire"; "count-abc" (ESearch Count not a
    # number), "not-utf8" (an EFetch body with a Latin-1 byte), "400-escapes" (an error body
    # with terminal escape sequences), "count-markup" (a Count of "[/x]"), "translation-control"
    # (a QueryTranslation holding U+009B), "drip" (a byte every 0.2 s)
    kind: str


@dataclass
class LoggedRequest:
    time: float
    endpoint: str
    params: dict[str, str]
    status: int = 200


@dataclass
class FakePubmed:
    records: list[PubmedRecord]
    latency: float = 0.0
    esearch_limit: int = 9999
    slow_seconds: float = 3.0
    faults: list[Fault] = field(default_factory=list)
    log: list[LoggedRequest] = field(default_factory=list)
    recorded_esearch: bytes | None = None  # serve this body for every ESearch when set

    def __post_init__(self) -> None:
        self._histories: dict[str, list[str]] = {}
        self._expired: set[str] = set()
        self._counters: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._by_pmid = {r.pmid: r for r in self.records}

    def add(self, records: list[PubmedRecord]) -> None:
        """New records appear in PubMed (newest first, as it lists them)."""
        with self._lock:
            self.records = sorted(self.records + records, key=lambda r: (r.date, r.pmid), reverse=True)
            self._by_pmid = {r.pmid: r for r in self.records}

    # -- bookkeeping ------------------------------------------------------------------

    def _fault_for(self, endpoint: str) -> str | None:
        with self._lock:
            n = self._counters[endpoint] = self._counters.get(endpoint, 0) + 1
        return next((f.kind for f in self.faults if f.endpoint == endpoint and f.nth == n), None)

    def requests(self, endpoint: str | None = None) -> list[LoggedRequest]:
        return [r for r in self.log if endpoint is None or r.endpoint == endpoint]

    # -- E-utilities ------------------------------------------------------------------

    def esearch(self, params: dict[str, str]) -> tuple[int, bytes]:
        if self.recorded_esearch is not None:
            return 200, self.recorded_esearch
        matching = self.records
        if params.get("mindate") or params.get("maxdate"):
            lo = _parse_date(params.get("mindate", "1000/01/01"))
            hi = _parse_date(params.get("maxdate", "3000/12/31"))
            matching = [r for r in matching if lo <= r.date <= hi]
        ids = [r.pmid for r in matching]
        retstart = int(params.get("retstart", 0))
        retmax = int(params.get("retmax", 20))
        if retstart + retmax > self.esearch_limit + 1 and retstart > 0:
            body = (
                "<eSearchResult><ERROR>Search Backend failed: Exception:\n'retstart' cannot be "
                f"larger than {self.esearch_limit - 1}.</ERROR></eSearchResult>"
            )
            return 200, (ESEARCH_DOCTYPE + body).encode()
        webenv = f"MCID_{next(self._ids):08d}"
        self._histories[webenv] = ids
        shown = ids[retstart : retstart + min(retmax, self.esearch_limit)]
        term = escape(params.get("term", ""))
        body = (
            f"<eSearchResult><Count>{len(ids)}</Count><RetMax>{len(shown)}</RetMax>"
            f"<RetStart>{retstart}</RetStart><QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv>"
            "<IdList>" + "".join(f"<Id>{i}</Id>" for i in shown) + "</IdList>"
            f"<TranslationSet/><QueryTranslation>{term}[All Fields]</QueryTranslation>"
            "</eSearchResult>"
        )
        return 200, (ESEARCH_DOCTYPE + body).encode()

    def efetch(self, params: dict[str, str]) -> tuple[int, bytes]:
        if "id" in params:
            ids = params["id"].split(",")
        else:
            webenv = params.get("webenv", "")
            if webenv in self._expired or webenv not in self._histories:
                return 400, b'{"error":"Unable to obtain query #1","api-key":"","type":"invalid"}'
            ids = self._histories[webenv]
        retstart = int(params.get("retstart", 0))
        retmax = int(params.get("retmax", 20))
        chosen = ids[retstart : retstart + retmax]
        text = "\n" + "\n\n".join(self._by_pmid[i].medline for i in chosen if i in self._by_pmid) + "\n"
        return 200, text.encode("utf-8")


def _parse_date(text: str) -> dt.date:
    parts = [int(p) for p in text.split("/")]
    while len(parts) < 3:
        parts.append(1)
    return dt.date(*parts)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._answer(urllib.parse.urlsplit(self.path).query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self._answer(self.rfile.read(length).decode())

    def _answer(self, query: str) -> None:
        fake = self.server.fake
        params = {k.lower(): v for k, v in urllib.parse.parse_qsl(query)}
        path = urllib.parse.urlsplit(self.path).path
        endpoint = path.rsplit("/", 1)[-1].replace(".fcgi", "")
        entry = LoggedRequest(time.monotonic(), endpoint, params)
        fake.log.append(entry)
        if fake.latency:
            time.sleep(fake.latency)
        if endpoint not in ("esearch", "efetch"):
            return self._send(404, b"unknown E-utility", entry)
        fault = fake._fault_for(endpoint)
        if fault in ("429", "503"):
            return self._send(int(fault), b'{"error":"API rate limit exceeded"}', entry, {"Retry-After": "0"})
        if fault == "expire" and params.get("webenv"):
            fake._expired.add(params["webenv"])
        if fault == "slow":
            time.sleep(fake.slow_seconds)
        status, body = fake.esearch(params) if endpoint == "esearch" else fake.efetch(params)
        kind = "text/xml" if endpoint == "esearch" else "text/plain"
        if fault == "truncate" and status == 200:
            # Announce the whole body, send half of it, hang up.
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            entry.status = 200
            return None
        if fault == "400-escapes":
            return self._send(400, b"\x1b]0;owned\x07\x1b[31mBad\x00 request\x1b[0m <b>retmax</b>", entry)
        if fault == "drip":
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=UTF-8")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100000):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return None
                time.sleep(0.2)
            return None
        if fault == "count-markup" and status == 200:
            body = re.sub(rb"<Count>\d+</Count>", b"<Count>[/x]</Count>", body, count=1)
        if fault == "translation-control" and status == 200:
            body = re.sub(
                rb"<QueryTranslation>(.*?)</QueryTranslation>",
                "<QueryTranslation>\\1 \u009b31m</QueryTranslation>".encode(),
                body,
                count=1,
            )
        if fault == "count-abc" and status == 200:
            body = re.sub(rb"<Count>\d+</Count>", b"<Count>abc</Count>", body, count=1)
        if fault == "not-utf8" and status == 200:
            body = body.replace(b"TI  - ", b"TI  - Caf\xe9 ", 1)
        if fault == "short" and status == 200:
            body = body[: body.rfind(b"\n\nPMID-")] + b"\n"  # a whole record missing, length right
        return self._send(status, body, entry, {"Content-Type": f"{kind}; charset=UTF-8"})

    def _send(
        self, status: int, body: bytes, entry: LoggedRequest, headers: dict[str, str] | None = None
    ) -> None:
        entry.status = status
        self.send_response(status)
        for key, value in (headers or {"Content-Type": "text/plain"}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakePubmed


class EutilsServer:
    """`with EutilsServer(fake) as server:` serves on 127.0.0.1; `server.base_url` for clients."""

    def __init__(self, fake: FakePubmed) -> None:
        self.fake = fake
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = fake
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/entrez/eutils/"

    def __enter__(self) -> EutilsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
