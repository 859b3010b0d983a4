"""Europe PMC as a citation source (biomedical, no key): a seed found by `EXT_ID:` or `DOI:`
search, its references and the works citing it from `/MED/{pmid}/references|citations`, paged
(`page`, `pageSize` up to 1,000). Europe PMC gives no abstract in these lists."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..errors import ScreenerError
from ..net import EUROPEPMC, JsonClient, TransientError
from ..records import normalise_doi, normalise_pmid, parse_year
from .model import MAX_WORKS, Seed, Work, text, whole

# Shared with `fulltext get` (one cache, keyed by the name, and the same documented rate), with
# what a chase can try instead when it cannot be reached.
SERVICE = dataclasses.replace(EUROPEPMC, instead="chase without it: --source openalex")
PAGE_SIZE = 1000  # documented maximum
REST = "webservices/rest/"


def _authors(value: object) -> list[str]:
    return [a.strip() for a in text(value).rstrip(".").split(",") if a.strip()]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(data: dict[str, Any], key: str, inner: str) -> list[Any]:
    """data[key][inner] as a list: an answer where either is of another shape is damaged."""
    outer = data.get(key)
    if outer is None:
        return []
    if not isinstance(outer, dict) or not isinstance(outer.get(inner, []), list):
        raise TransientError(f"{key} is not a list of {inner}s (damaged answer?)")
    return outer.get(inner) or []


def to_work(item: Any) -> Work | None:
    """One work from a list; a field of the wrong shape is left empty, an item without an id
    is left out."""
    ident = text(item.get("id")).strip() if isinstance(item, dict) else ""
    if not ident:
        return None
    source = text(item.get("source"))
    pmid = normalise_pmid(text(item.get("pmid")) or (ident if source == "MED" else ""))
    journal = _dict(_dict(item.get("journalInfo")).get("journal"))
    return Work(
        source="europepmc",
        key=f"{source}:{ident}",
        title=text(item.get("title")).strip(),
        authors=_authors(item.get("authorString")),
        year=parse_year(text(item.get("pubYear")) or None),
        journal=text(journal.get("title")) or text(item.get("journalAbbreviation")),
        volume=text(item.get("volume")),
        issue=text(item.get("issue")),
        pages=text(item.get("pageInfo")),
        doi=normalise_doi(text(item.get("doi"))),
        pmid=pmid,
        abstract=text(item.get("abstractText")),
    )


def _search_results(data: Any) -> list[Work]:
    if not isinstance(data, dict):
        raise TransientError("a search answer that is not an object (damaged?)")
    return [w for w in map(to_work, _items(data, "resultList", "result")) if w is not None]


class EuropePmcSource:
    name = "europepmc"
    label = "Europe PMC"

    def __init__(self, client: JsonClient, page_size: int | None = None) -> None:
        self.client, self.page_size = client, page_size or PAGE_SIZE

    def lookup(self, seed: Seed) -> Work | None:
        for query in ([f"EXT_ID:{seed.pmid} AND SRC:MED"] if seed.pmid else []) + (
            [f'DOI:"{seed.doi}"'] if seed.doi else []
        ):
            results = self.client.get_json(
                REST + "search",
                {"query": query, "format": "json", "resultType": "core", "pageSize": 1},
                _search_results,
            )
            work = next((w for w in results or [] if w.pmid), None)
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
                hits = whole(data.get("hitCount")) if isinstance(data, dict) else None
                if hits is None or hits < 0:
                    raise TransientError("an answer without hitCount (damaged?)")
                items = _items(data, key, inner)
                expected = max(0, min(self.page_size, hits - (page - 1) * self.page_size))
                if len(items) < expected:
                    raise TransientError(f"page {page} holds {len(items)} of {expected} (truncated?)")
                return hits, items

            got = self.client.get_json(
                f"{REST}MED/{pmid}/{what}",
                {"page": page, "pageSize": self.page_size, "format": "json"},
                check,
            )
            if got is None:
                return out
            hits, items = got
            if hits > MAX_WORKS:  # a billion: damaged, or more than any chase can screen
                raise ScreenerError(
                    f"Europe PMC says MED:{pmid} has {hits:,} {what}, more than the {MAX_WORKS:,} "
                    "screener takes for one seed: the answer looks damaged and was not followed",
                    hint="try again later, or chase with --source openalex",
                )
            out.extend(w for w in map(to_work, items) if w is not None)
            if page >= math.ceil(hits / self.page_size) or not items:
                return out
            page += 1

    def _each(self, parents: list[Work], what: str) -> dict[str, list[Work]]:
        answers = self.client.map(lambda p: self._pages(p.pmid, what) if p.pmid else [], parents)
        return {p.key: works for p, works in zip(parents, answers, strict=True)}

    def references(self, parents: list[Work]) -> dict[str, list[Work]]:
        return self._each(parents, "references")

    def citing(self, parents: list[Work]) -> dict[str, list[Work]]:
        return self._each(parents, "citations")
