"""A local Europe PMC, Unpaywall and OpenAlex server for `fulltext get` tests and benchmarks:
real HTTP on 127.0.0.1, answering in each API's documented JSON, and serving PDFs.

- Europe PMC `/europepmc/webservices/rest/search?query=PMCID:…|EXT_ID:… AND SRC:MED|DOI:"…"`
  with `resultType=core`: `resultList.result[]` with `pmid`, `pmcid`, `doi`, `isOpenAccess`,
  `inEPMC`; the open-access subset's PDFs at `/europepmc-pdf/articles/{PMCID}?pdf=render`.
- Unpaywall `/unpaywall/v2/{doi}?email=…`: 422 without an e-mail, 404 for an unknown DOI, else
  `is_oa`, `best_oa_location.url_for_pdf`, `oa_locations[]`.
- OpenAlex `/openalex/works/doi:…|pmid:…`: `open_access.oa_url`, `best_oa_location.pdf_url`.
- `/files/{name}`: the bytes registered under `name`, with their content type.

Faults on demand (429 with Retry-After, 500, a body cut short), an optional per-service rate
(requests a second, enforced with 429s as the real services do), every request logged.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Paper:
    """One article and where each service says its open-access PDF is (a name in `files`)."""

    title: str
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    europepmc_oa: bool = False  # in Europe PMC's open-access subset (its PDF: files[pmcid])
    unpaywall_pdf: str = ""  # a name in files, or "" for no open-access copy
    openalex_pdf: str = ""


@dataclass
class Fault:
    """The next request whose path (with its query) contains `match` gets this instead."""

    match: str
    kind: str  # "429", "500", "truncate"
    retry_after: str = "0"


@dataclass
class Site:
    papers: list[Paper]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # name -> (content type, bytes)
    faults: list[Fault] = field(default_factory=list)
    rates: dict[str, int] = field(default_factory=dict)  # path prefix -> requests a second
    log: list[tuple[str, int, float]] = field(default_factory=list)  # (path?query, status, time)
    root: str = ""  # http://127.0.0.1:port/, set when served

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.recent: dict[str, deque[float]] = {}
        self.by_doi = {p.doi.lower(): p for p in self.papers if p.doi}
        self.by_pmid = {p.pmid: p for p in self.papers if p.pmid}
        self.by_pmcid = {p.pmcid.upper(): p for p in self.papers if p.pmcid}

    def requests(self, prefix: str = "") -> list[str]:
        with self.lock:
            return [path for path, _, _ in self.log if path.startswith(prefix)]

    def file_url(self, name: str) -> str:
        return f"{self.root}files/{urllib.parse.quote(name)}"

    # -- the services ---------------------------------------------------------------------

    def europepmc(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path != "webservices/rest/search":
            return 404, {"errMsg": "not found"}
        query = params.get("query", "")
        kind, _, value = query.partition(":")
        paper = None
        if kind.upper() == "PMCID":
            paper = self.by_pmcid.get(value.upper())
        elif kind.upper() == "EXT_ID":
            paper = self.by_pmid.get(value.split()[0])
        elif kind.upper() == "DOI":
            paper = self.by_doi.get(value.strip('"').lower())
        results = []
        if paper is not None and (paper.pmid or paper.pmcid):
            oa = paper.europepmc_oa and bool(paper.pmcid)
            item: dict[str, Any] = {
                "id": paper.pmid or paper.pmcid,
                "source": "MED" if paper.pmid else "PMC",
                "pmid": paper.pmid or None,
                "pmcid": paper.pmcid or None,
                "doi": paper.doi or None,
                "title": paper.title,
                "isOpenAccess": "Y" if oa else "N",
                "inEPMC": "Y" if paper.pmcid else "N",
                "inPMC": "Y" if paper.pmcid else "N",
                "hasPDF": "Y" if oa else "N",
            }
            if oa:
                item["fullTextUrlList"] = {
                    "fullTextUrl": [
                        {
                            "availability": "Open access",
                            "availabilityCode": "OA",
                            "documentStyle": "pdf",
                            "site": "Europe_PMC",
                            "url": f"{self.root}europepmc-pdf/articles/{paper.pmcid}?pdf=render",
                        }
                    ]
                }
            results.append({k: v for k, v in item.items() if v is not None})
        return 200, {
            "version": "6.9",
            "hitCount": len(results),
            "request": {"queryString": query, "resultType": params.get("resultType", "lite")},
            "resultList": {"result": results},
        }

    def unpaywall(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if not path.startswith("v2/"):
            return 404, {"error": True, "message": "not found"}
        if "@" not in params.get("email", ""):
            return 422, {"error": True, "message": "Please add a valid email to your request"}
        doi = urllib.parse.unquote(path[3:]).lower()
        paper = self.by_doi.get(doi)
        if paper is None:
            return 404, {"error": True, "message": f"'{doi}' is not a valid doi"}
        location = None
        if paper.unpaywall_pdf:
            location = {
                "url": self.file_url(paper.unpaywall_pdf),
                "url_for_pdf": self.file_url(paper.unpaywall_pdf),
                "url_for_landing_page": f"https://doi.org/{paper.doi}",
                "host_type": "repository",
                "version": "publishedVersion",
                "license": "cc-by",
            }
        return 200, {
            "doi": paper.doi,
            "doi_url": f"https://doi.org/{paper.doi}",
            "title": paper.title,
            "is_oa": location is not None,
            "oa_status": "green" if location else "closed",
            "best_oa_location": location,
            "oa_locations": [location] if location else [],
        }

    def openalex(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        key = urllib.parse.unquote(path.removeprefix("works/"))
        paper = None
        if key.lower().startswith("doi:"):
            paper = self.by_doi.get(key[4:].lower().removeprefix("https://doi.org/"))
        elif key.lower().startswith("pmid:"):
            paper = self.by_pmid.get(key[5:])
        if not path.startswith("works/") or paper is None:
            return 404, {"error": "Not Found", "message": f"Work {key} not found"}
        url = self.file_url(paper.openalex_pdf) if paper.openalex_pdf else None
        location = {"is_oa": True, "pdf_url": url, "landing_page_url": f"https://doi.org/{paper.doi}"}
        return 200, {
            "id": "https://openalex.org/W" + str(abs(hash(paper.title)) % 10**9),
            "doi": f"https://doi.org/{paper.doi}" if paper.doi else None,
            "open_access": {
                "is_oa": url is not None,
                "oa_status": "green" if url else "closed",
                "oa_url": url,
            },
            "best_oa_location": location if url else None,
        }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        site = self.server.site
        split = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        path = split.path.strip("/")
        now = time.monotonic()
        with site.lock:
            fault = next((f for f in site.faults if f.match in self.path), None)
            if fault:
                site.faults.remove(fault)
            limited = False
            for prefix, rate in site.rates.items():
                if path.startswith(prefix):
                    recent = site.recent.setdefault(prefix, deque())
                    while recent and now - recent[0] >= 1.0:
                        recent.popleft()
                    limited = len(recent) >= rate
                    if not limited:
                        recent.append(now)
        if path == "__stats":  # for a benchmark running the server in another process
            with site.lock:
                body = {"requests": len(site.log), "rate_limited": sum(s == 429 for _, s, _ in site.log)}
            self._send(200, "application/json", json.dumps(body).encode(), log=False)
            return
        if limited or (fault and fault.kind == "429"):
            retry = fault.retry_after if fault else "1"
            self._send(429, "application/json", b'{"error": "Too Many Requests"}', {"Retry-After": retry})
            return
        if fault and fault.kind == "500":
            self._send(500, "text/html", b"<html><body>Internal Server Error</body></html>")
            return
        truncate = bool(fault and fault.kind == "truncate")
        service, _, rest = path.partition("/")
        if service == "files":
            name = urllib.parse.unquote(rest)
            if name not in site.files:
                self._send(404, "text/html", b"<html><body>Not Found</body></html>")
                return
            kind, data = site.files[name]
            self._send(200, kind, data, truncate=truncate)
            return
        if service == "europepmc-pdf":
            pmcid = rest.removeprefix("articles/")
            paper = site.by_pmcid.get(pmcid.upper())
            if paper is None or not paper.europepmc_oa or pmcid not in site.files:
                self._send(404, "text/html", b"<html><body>Not Found</body></html>")
                return
            kind, data = site.files[pmcid]
            self._send(200, kind, data, truncate=truncate)
            return
        handler = {"europepmc": site.europepmc, "unpaywall": site.unpaywall, "openalex": site.openalex}.get(
            service
        )
        status, body = handler(rest, params) if handler else (404, {"error": "Not Found"})
        self._send(status, "application/json", json.dumps(body).encode(), truncate=truncate)

    def _send(
        self,
        status: int,
        kind: str,
        data: bytes,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
        log: bool = True,
    ) -> None:
        if log:
            with self.server.site.lock:
                self.server.site.log.append((self.path.lstrip("/"), status, time.monotonic()))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if truncate else data)
        if truncate:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site


class FulltextServer:
    """`with FulltextServer(site) as server:` then `server.environment()` holds the variables
    that point screener at it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.site = site
        host, port = self.httpd.server_address[:2]
        site.root = f"http://{host}:{port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def environment(self) -> dict[str, str]:
        root = self.site.root
        return {
            "SCREENER_EUROPEPMC_URL": root + "europepmc/",
            "SCREENER_EUROPEPMC_PDF_URL": root + "europepmc-pdf/",
            "SCREENER_UNPAYWALL_URL": root + "unpaywall/",
            "SCREENER_OPENALEX_URL": root + "openalex/",
        }

    def __enter__(self) -> FulltextServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
