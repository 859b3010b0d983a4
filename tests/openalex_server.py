"""A local OpenAlex and Europe PMC server for tests and benchmarks: real HTTP on 127.0.0.1.

It serves one synthetic citation graph in both services' documented JSON formats:
OpenAlex `/works/doi:…`, `/works/pmid:…`, `/works/W…` (a work object with `ids`,
`authorships`, `primary_location`, `biblio`, `abstract_inverted_index`, `referenced_works`) and
`/works?filter=openalex:W1|W2` or `filter=cites:W1` (with `per-page` and `cursor` paging,
`meta.next_cursor`); Europe PMC `/webservices/rest/MED/{pmid}/references|citations`
(`page`, `pageSize`, `format=json`: `hitCount`, `referenceList.reference` /
`citationList.citation`) and `/webservices/rest/search?query=DOI:"…"` or `query=EXT_ID:… AND
SRC:MED` (`resultList.result`).

Faults on demand (429 with Retry-After, 500, a body cut short), an optional rate limit
enforced with 429s as the real service does, and every request logged with its time.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OA = "https://openalex.org/"


@dataclass
class Work:
    """One work of the graph; `refs` are the ids of the works it cites."""

    wid: str  # "W100"
    title: str
    year: int = 2015
    doi: str = ""
    pmid: str = ""
    authors: list[str] = field(default_factory=lambda: ["Alice Author", "Bob Second"])
    journal: str = "Journal of Tests"
    abstract: str = ""
    refs: list[str] = field(default_factory=list)
    in_europepmc: bool = True  # Europe PMC only knows works with a PMID


def inverted_index(text: str) -> dict[str, list[int]] | None:
    if not text:
        return None
    index: dict[str, list[int]] = {}
    for position, word in enumerate(text.split()):
        index.setdefault(word, []).append(position)
    return index


@dataclass
class Fault:
    """The next request whose path contains `match` gets this instead of its answer."""

    match: str
    kind: str  # "429", "500", "truncate", "404", "drip" (a byte every 0.2 s)
    retry_after: str = ""


@dataclass
class Logged:
    path: str
    params: dict[str, str]
    at: float
    status: int


class Graph:
    def __init__(self, works: list[Work]) -> None:
        self.works = {w.wid: w for w in works}
        self.by_doi = {w.doi.lower(): w for w in works if w.doi}
        self.by_pmid = {w.pmid: w for w in works if w.pmid}
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.lock = threading.Lock()
        self.rate: int | None = None  # requests per second, enforced with 429 when set
        self._recent: deque[float] = deque()
        self.max_batch = 50  # OpenAlex: at most 50 values in one OR filter
        # Called with (path, params, body) on every answer: a test's hostile server.
        self.mutate: Callable[[str, dict[str, str], Any], Any] | None = None
        self.cited_by: dict[str, list[Work]] = {}
        for work in works:
            for ref in dict.fromkeys(work.refs):
                self.cited_by.setdefault(ref, []).append(work)

    def citing(self, wid: str) -> list[Work]:
        return self.cited_by.get(wid, [])

    # -- OpenAlex ---------------------------------------------------------------------

    def oa_work(self, w: Work) -> dict[str, Any]:
        ids: dict[str, str] = {"openalex": OA + w.wid}
        if w.doi:
            ids["doi"] = "https://doi.org/" + w.doi
        if w.pmid:
            ids["pmid"] = "https://pubmed.ncbi.nlm.nih.gov/" + w.pmid
        return {
            "id": OA + w.wid,
            "doi": ids.get("doi"),
            "title": w.title,
            "display_name": w.title,
            "publication_year": w.year,
            "ids": ids,
            "type": "article",
            "authorships": [
                {"author_position": "first" if k == 0 else "middle", "author": {"display_name": a}}
                for k, a in enumerate(w.authors)
            ],
            "primary_location": {"source": {"display_name": w.journal, "type": "journal"}},
            "biblio": {"volume": "3", "issue": "2", "first_page": "10", "last_page": "19"},
            "abstract_inverted_index": inverted_index(w.abstract),
            "referenced_works": [OA + r for r in w.refs],
            "cited_by_count": len(self.citing(w.wid)),
        }

    def openalex(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path.startswith("works/"):
            key = urllib.parse.unquote(path[len("works/") :])
            work = None
            if key.lower().startswith("doi:"):
                work = self.by_doi.get(key[4:].lower().removeprefix("https://doi.org/"))
            elif key.lower().startswith("pmid:"):
                work = self.by_pmid.get(key[5:])
            else:
                work = self.works.get(key.removeprefix(OA))
            if work is None:
                return 404, {"error": "Not Found", "message": f"Work {key} not found"}
            return 200, self.oa_work(work)
        if path != "works":
            return 404, {"error": "Not Found"}
        flt = params.get("filter", "")
        name, _, values = flt.partition(":")
        wanted = [v.removeprefix(OA) for v in values.split("|") if v]
        if len(wanted) > self.max_batch:
            return 400, {"error": "Invalid query", "message": "Maximum of 50 values in an OR filter"}
        if name == "openalex":
            found = [self.works[w] for w in wanted if w in self.works]
        elif name == "cites":
            found = list({id(w): w for x in wanted for w in self.citing(x)}.values())
        else:
            return 400, {"error": "Invalid filter", "message": f"unknown filter {name}"}
        per_page = int(params.get("per-page", params.get("per_page", "25")))
        if not 1 <= per_page <= 200:
            return 400, {"error": "Invalid per-page", "message": "per-page must be 1 to 200"}
        cursor = params.get("cursor")
        start = 0
        if cursor and cursor != "*":
            start = int(cursor.removeprefix("c"))
        elif not cursor:
            start = (int(params.get("page", "1")) - 1) * per_page
        page = found[start : start + per_page]
        nxt = f"c{start + per_page}" if cursor and start + per_page < len(found) else None
        meta = {
            "count": len(found),
            "db_response_time_ms": 3,
            "page": None if cursor else 1,
            "per_page": per_page,
            "groups_count": None,
        }
        if cursor:
            meta["next_cursor"] = nxt
        return 200, {"meta": meta, "results": [self.oa_work(w) for w in page], "group_by": []}

    # -- Europe PMC -------------------------------------------------------------------

    @staticmethod
    def _epmc_brief(w: Work) -> dict[str, Any]:
        return {
            "id": w.pmid,
            "source": "MED",
            "title": w.title,
            "authorString": ", ".join(a.split()[-1] + " " + a[0] for a in w.authors) + ".",
            "journalAbbreviation": w.journal,
            "pubYear": w.year,
            "volume": "3",
            "issue": "2",
            "pageInfo": "10-19",
        }

    def europepmc(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        parts = path.split("/")
        if parts[:2] == ["webservices", "rest"] and len(parts) == 5 and parts[2] == "MED":
            pmid, what = parts[3], parts[4]
            work = self.by_pmid.get(pmid)
            size = int(params.get("pageSize", "25"))
            number = int(params.get("page", "1"))
            if not 1 <= size <= 1000:
                return 400, {"errMsg": "pageSize must be between 1 and 1000"}
            if work is None or not work.in_europepmc:
                items: list[Work] = []
            elif what == "references":
                items = [self.works[r] for r in work.refs if r in self.works]
            elif what == "citations":
                items = [w for w in self.citing(work.wid)]
            else:
                return 404, {"errMsg": "not found"}
            items = [w for w in items if w.pmid and w.in_europepmc]
            chunk = items[(number - 1) * size : number * size]
            request = {
                "id": pmid,
                "source": "MED",
                "offSet": (number - 1) * size,
                "pageSize": size,
                "page": number,
            }
            if what == "references":
                refs = [
                    {
                        **self._epmc_brief(w),
                        "citedOrder": k + 1 + (number - 1) * size,
                        "match": "Y",
                        **({"doi": w.doi} if w.doi else {}),
                    }
                    for k, w in enumerate(chunk)
                ]
                return 200, {
                    "version": "6.9",
                    "hitCount": len(items),
                    "request": request,
                    "referenceList": {"reference": refs},
                }
            cites = [{**self._epmc_brief(w), "citedByCount": len(self.citing(w.wid))} for w in chunk]
            return 200, {
                "version": "6.9",
                "hitCount": len(items),
                "request": request,
                "citationList": {"citation": cites},
            }
        if parts == ["webservices", "rest", "search"]:
            query = params.get("query", "")
            results = []
            # The two look-ups the client makes: by DOI, and by PMID (`EXT_ID:n AND SRC:MED`,
            # Europe PMC's documented syntax for an external id within a source).
            by_pmid = re.fullmatch(r'EXT_ID:"?(\d+)"?\s+AND\s+SRC:"?MED"?', query.strip(), re.IGNORECASE)
            work = None
            if query.upper().startswith("DOI:"):
                work = self.by_doi.get(query[4:].strip('"').lower())
            elif by_pmid:
                work = self.by_pmid.get(by_pmid.group(1))
            if work and work.pmid and work.in_europepmc:
                results.append(
                    {
                        **self._epmc_brief(work),
                        "pmid": work.pmid,
                        **({"doi": work.doi} if work.doi else {}),  # absent, not empty, without one
                        "abstractText": work.abstract,
                        "journalInfo": {"journal": {"title": work.journal}},
                    }
                )
            return 200, {
                "version": "6.9",
                "hitCount": len(results),
                "request": {"queryString": query},
                "resultList": {"result": results},
            }
        return 404, {"errMsg": "not found"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stall

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        graph = self.server.graph
        split = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        path = split.path.strip("/")
        now = time.monotonic()
        with graph.lock:
            fault = next((f for f in graph.faults if f.match in self.path), None)
            if fault:
                graph.faults.remove(fault)
            limited = False
            if graph.rate:
                while graph._recent and now - graph._recent[0] >= 1.0:
                    graph._recent.popleft()
                limited = len(graph._recent) >= graph.rate
                if not limited:
                    graph._recent.append(now)
        if limited or (fault and fault.kind == "429"):
            retry = fault.retry_after if fault else "1"
            self._send(
                429, {"error": "Rate limit exceeded"}, path, params, {"Retry-After": retry} if retry else {}
            )
            return
        if fault and fault.kind == "500":
            self._send(500, {"error": "Internal Server Error"}, path, params)
            return
        if path == "__stats":  # for a benchmark running the server in another process
            log = graph.log
            status, body = 200, {"requests": len(log), "rate_limited": sum(r.status == 429 for r in log)}
            self._send(status, body, path, params)
            graph.log.pop()
            return
        if path.startswith("openalex/"):
            status, body = graph.openalex(path[len("openalex/") :], params)
        elif path.startswith("europepmc/"):
            status, body = graph.europepmc(path[len("europepmc/") :], params)
        else:
            status, body = 404, {"error": "Not Found"}
        if graph.mutate is not None:
            body = graph.mutate(path, params, body)
        if fault and fault.kind == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100000):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)
            return
        self._send(status, body, path, params, truncate=bool(fault and fault.kind == "truncate"))

    def _send(
        self,
        status: int,
        body: Any,
        path: str,
        params: dict[str, str],
        headers: dict[str, str] | None = None,
        truncate: bool = False,
    ) -> None:
        data = json.dumps(body).encode("utf-8")
        with self.server.graph.lock:
            self.server.graph.log.append(Logged(path, params, time.monotonic(), status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if truncate else data)
        if truncate:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    graph: Graph


class CitationServer:
    """`with CitationServer(graph) as server:` then point SCREENER_OPENALEX_URL at
    server.openalex_url and SCREENER_EUROPEPMC_URL at server.europepmc_url."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.graph = graph
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def openalex_url(self) -> str:
        return self.root + "openalex/"

    @property
    def europepmc_url(self) -> str:
        return self.root + "europepmc/"

    def __enter__(self) -> CitationServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
