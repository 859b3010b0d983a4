"""OpenAlex as a citation source: a seed by `doi:`/`pmid:` (a free singleton look-up), its
references from `referenced_works` fetched in batches of 50 (`filter=openalex:W1|W2|…`), the
works citing it from `filter=cites:W1|W2|…` with cursor paging, each citing work given back
to the seeds its own `referenced_works` name. Abstracts arrive as an inverted index and are
rebuilt to text. OPENALEX_API_KEY and OPENALEX_EMAIL come from the environment."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable
from typing import Any

from ..net import OPENALEX, JsonClient, TransientError
from ..records import normalise_doi, normalise_pmid
from .model import Seed, Work

# Shared with `fulltext get` (one cache, keyed by the name, and the same documented rate), with
# what a chase can try instead when it cannot be reached.
SERVICE = dataclasses.replace(OPENALEX, instead="chase without it: --source europepmc")
BATCH = 50  # documented: at most 50 values in one OR filter
PER_PAGE = 200  # documented maximum per page
FIELDS = (
    "id,doi,title,display_name,publication_year,ids,authorships,primary_location,biblio,"
    "abstract_inverted_index,referenced_works"
)
_PREFIX = "https://openalex.org/"


def short_id(value: object) -> str:
    return str(value or "").removeprefix(_PREFIX)


def abstract_text(index: object) -> str:
    """The abstract from OpenAlex's inverted index ({word: [positions]})."""
    if not isinstance(index, dict):
        return ""
    placed: dict[int, str] = {}
    for word, positions in index.items():
        if isinstance(positions, list):
            for position in positions:
                if isinstance(position, int) and 0 <= position < 100_000:
                    placed[position] = str(word)
    return " ".join(placed[k] for k in sorted(placed))


def to_work(data: Any) -> Work:
    if not isinstance(data, dict) or not data.get("id"):
        raise TransientError("a work without an id (damaged answer?)")
    ids = data.get("ids") if isinstance(data.get("ids"), dict) else {}
    biblio = data.get("biblio") if isinstance(data.get("biblio"), dict) else {}
    location = data.get("primary_location") if isinstance(data.get("primary_location"), dict) else {}
    source = location.get("source") if isinstance(location.get("source"), dict) else {}
    first, last = str(biblio.get("first_page") or ""), str(biblio.get("last_page") or "")
    authors = [
        str(a["author"].get("display_name") or "")
        for a in data.get("authorships") or []
        if isinstance(a, dict) and isinstance(a.get("author"), dict)
    ]
    year = data.get("publication_year")
    refs = data.get("referenced_works")
    return Work(
        source="openalex",
        key=short_id(data["id"]),
        title=str(data.get("title") or data.get("display_name") or ""),
        authors=[a for a in authors if a],
        year=year if isinstance(year, int) else None,
        journal=str(source.get("display_name") or ""),
        volume=str(biblio.get("volume") or ""),
        issue=str(biblio.get("issue") or ""),
        pages=f"{first}-{last}" if first and last and first != last else first,
        doi=normalise_doi(str(data.get("doi") or ids.get("doi") or "")),
        pmid=normalise_pmid(str(ids.get("pmid") or "").rstrip("/").rsplit("/", 1)[-1]),
        abstract=abstract_text(data.get("abstract_inverted_index")),
        refs=[short_id(r) for r in refs if r] if isinstance(refs, list) else None,
    )


class OpenAlexSource:
    name = "openalex"
    label = "OpenAlex"

    def __init__(self, client: JsonClient, batch: int | None = None, per_page: int | None = None) -> None:
        self.client, self.batch, self.per_page = client, batch or BATCH, per_page or PER_PAGE

    def lookup(self, seed: Seed) -> Work | None:
        for kind, value in (("doi", seed.doi), ("pmid", seed.pmid)):
            if value:
                data = self.client.get_json(
                    f"works/{kind}:{urllib.parse.quote(value, safe='/')}", {"select": FIELDS}
                )
                if data is not None:
                    return to_work(data)
        return None

    def _list(self, flt: str, on_page: Callable[[list[Work]], None]) -> None:
        """Every page of works?filter=…, by cursor; a short page before the last is retried."""
        cursor = "*"
        while cursor:
            params = {"filter": flt, "per-page": self.per_page, "cursor": cursor, "select": FIELDS}

            def check(data: Any) -> tuple[list[Work], str]:
                if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                    raise TransientError("an answer without results (damaged?)")
                meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
                following = meta.get("next_cursor") or ""
                results = data["results"]
                if following and len(results) < self.per_page:
                    raise TransientError(f"a page of {len(results)} works before the last (truncated?)")
                return [to_work(r) for r in results], str(following)

            works, following = self.client.get_json("works", params, check)
            on_page(works)
            # An answer that names its own cursor again would page forever.
            cursor = following if following != cursor and works else ""

    def fetch(self, keys: list[str]) -> dict[str, Work]:
        """Works by OpenAlex id, in batches; ids OpenAlex no longer has are left out."""
        unique = list(dict.fromkeys(keys))
        chunks = [unique[start : start + self.batch] for start in range(0, len(unique), self.batch)]

        def one(chunk: list[str]) -> list[Work]:
            works: list[Work] = []
            self._list("openalex:" + "|".join(chunk), works.extend)
            return works

        return {w.key: w for works in self.client.map(one, chunks) for w in works}

    def references(self, parents: list[Work]) -> dict[str, list[Work]]:
        known = {p.key: p for p in parents}
        missing = [p.key for p in parents if p.refs is None]
        if missing:  # a work found without its reference list (not from this source)
            known.update(self.fetch(missing))
        wanted = [r for p in parents for r in (known[p.key].refs or [])]
        works = self.fetch(wanted)
        return {
            p.key: [works[r] for r in dict.fromkeys(known[p.key].refs or []) if r in works] for p in parents
        }

    def citing(self, parents: list[Work]) -> dict[str, list[Work]]:
        out: dict[str, list[Work]] = {p.key: [] for p in parents}
        keys = list(out)
        chunks = [keys[start : start + self.batch] for start in range(0, len(keys), self.batch)]

        def one(chunk: list[str]) -> list[Work]:
            works: list[Work] = []
            self._list("cites:" + "|".join(chunk), works.extend)
            return works

        for chunk, works in zip(chunks, self.client.map(one, chunks), strict=True):
            wanted = set(chunk)
            for work in works:  # each citing work goes to the seeds its own references name
                for cited in dict.fromkeys(work.refs or []):
                    if cited in wanted:
                        out[cited].append(work)
        return out
