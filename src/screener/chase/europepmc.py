"""Europe PMC as a citation source (biomedical, no key): a seed found by `EXT_ID:` or `DOI:`
search, its references and the works citing it from `/MED/{pmid}/references|citations`, paged
(`page`, `pageSize` up to 1,000). Europe PMC gives no abstract in these lists."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..net import EUROPEPMC, JsonClient, TransientError
from ..records import normalise_doi, normalise_pmid, parse_year
from .model import Seed, Work

# Shared with `fulltext get` (one cache, keyed by the name, and the same documented rate), with
# what a chase can try instead when it cannot be reached.
SERVICE = dataclasses.replace(EUROPEPMC, instead="chase without it: --source openalex")
PAGE_SIZE = 1000  # documented maximum
REST = "webservices/rest/"


def _authors(text: object) -> list[str]:
    return [a.strip() for a in str(text or "").rstrip(".").split(",") if a.strip()]


def to_work(item: Any) -> Work | None:
    if not isinstance(item, dict) or not item.get("id"):
        return None
    source = str(item.get("source") or "")
    pmid = normalise_pmid(str(item.get("pmid") or (item["id"] if source == "MED" else "")))
    journal = (
        item.get("journalInfo", {}).get("journal", {}) if isinstance(item.get("journalInfo"), dict) else {}
    )
    return Work(
        source="europepmc",
        key=f"{source}:{item['id']}",
        title=str(item.get("title") or "").strip(),
        authors=_authors(item.get("authorString")),
        year=parse_year(item.get("pubYear")),
        journal=str((journal or {}).get("title") or item.get("journalAbbreviation") or ""),
        volume=str(item.get("volume") or ""),
        issue=str(item.get("issue") or ""),
        pages=str(item.get("pageInfo") or ""),
        doi=normalise_doi(str(item.get("doi") or "")),
        pmid=pmid,
        abstract=str(item.get("abstractText") or ""),
    )


class EuropePmcSource:
    name = "europepmc"
    label = "Europe PMC"

    def __init__(self, client: JsonClient, page_size: int | None = None) -> None:
        self.client, self.page_size = client, page_size or PAGE_SIZE

    def lookup(self, seed: Seed) -> Work | None:
        for query in ([f"EXT_ID:{seed.pmid} AND SRC:MED"] if seed.pmid else []) + (
            [f'DOI:"{seed.doi}"'] if seed.doi else []
        ):
            data = self.client.get_json(
                REST + "search", {"query": query, "format": "json", "resultType": "core", "pageSize": 1}
            )
            results = (data or {}).get("resultList", {}).get("result", []) if isinstance(data, dict) else []
            work = next((w for w in map(to_work, results) if w is not None and w.pmid), None)
            if work is not None:
                return work
        return None

    def _pages(self, pmid: str, what: str) -> list[Work]:
        key = "referenceList" if what == "references" else "citationList"
        inner = "reference" if what == "references" else "citation"
        out: list[Work] = []
        page = 1
        while True:

            def check(data: Any, page: int = page) -> tuple[int, list[Any]]:
                if not isinstance(data, dict) or not isinstance(data.get("hitCount"), int):
                    raise TransientError("an answer without hitCount (damaged?)")
                items = (data.get(key) or {}).get(inner) or []
                expected = max(0, min(self.page_size, data["hitCount"] - (page - 1) * self.page_size))
                if len(items) < expected:
                    raise TransientError(f"page {page} holds {len(items)} of {expected} (truncated?)")
                return data["hitCount"], items

            got = self.client.get_json(
                f"{REST}MED/{pmid}/{what}",
                {"page": page, "pageSize": self.page_size, "format": "json"},
                check,
            )
            if got is None:
                return out
            hits, items = got
            out.extend(w for w in map(to_work, items) if w is not None)
            if page * self.page_size >= hits or not items:
                return out
            page += 1

    def _each(self, parents: list[Work], what: str) -> dict[str, list[Work]]:
        answers = self.client.map(lambda p: self._pages(p.pmid, what) if p.pmid else [], parents)
        return {p.key: works for p, works in zip(parents, answers, strict=True)}

    def references(self, parents: list[Work]) -> dict[str, list[Work]]:
        return self._each(parents, "references")

    def citing(self, parents: list[Work]) -> dict[str, list[Work]]:
        return self._each(parents, "citations")
