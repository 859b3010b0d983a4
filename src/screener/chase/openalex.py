"""OpenAlex as a citation source: a seed by `doi:`/`pmid:` (a free singleton look-up), its
references from `referenced_works` fetched in batches of 50 (`filter=openalex:W1|W2|…`), the
works citing it from `filter=cites:W1|W2|…` with cursor paging, each citing work given back
to the seeds its own `referenced_works` name. Abstracts arrive as an inverted index and are
rebuilt to text. OPENALEX_API_KEY and OPENALEX_EMAIL come from the environment."""

from __future__ import annotations

import dataclasses
import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from ..errors import ScreenerError
from ..net import OPENALEX, JsonClient, TransientError
from ..records import normalise_doi, normalise_pmid
from .model import MAX_WORKS, Seed, Work, text, whole

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
_WORK_ID = re.compile(r"W\d{1,15}")
PAGE_MARGIN = 2  # pages past what an answer's own count justifies before paging is cut


def short_id(value: object) -> str:
    return text(value).removeprefix(_PREFIX)


def _work_id(value: object) -> str:
    """An OpenAlex work id ("W123"), or "" for anything else: ids go into `|` filters and the
    stored file, so a damaged one (with `|`, a line break) is never used."""
    key = short_id(value).strip()
    return key if _WORK_ID.fullmatch(key) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


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
    """One work from an answer; a field of the wrong shape is left empty, a work without a
    usable id makes the whole answer damaged (TransientError: retried, never cached)."""
    key = _work_id(data.get("id")) if isinstance(data, dict) else ""
    if not key:
        raise TransientError("a work without a usable id (damaged answer?)")
    ids, biblio = _dict(data.get("ids")), _dict(data.get("biblio"))
    source = _dict(_dict(data.get("primary_location")).get("source"))
    first, last = text(biblio.get("first_page")), text(biblio.get("last_page"))
    authorships = data.get("authorships")
    authors = [
        text(_dict(a.get("author")).get("display_name"))
        for a in (authorships if isinstance(authorships, list) else [])
        if isinstance(a, dict)
    ]
    refs = data.get("referenced_works")
    return Work(
        source="openalex",
        key=key,
        title=text(data.get("title")) or text(data.get("display_name")),
        authors=[a for a in authors if a],
        year=whole(data.get("publication_year")),
        journal=text(source.get("display_name")),
        volume=text(biblio.get("volume")),
        issue=text(biblio.get("issue")),
        pages=f"{first}-{last}" if first and last and first != last else first,
        doi=normalise_doi(text(data.get("doi")) or text(ids.get("doi"))),
        pmid=normalise_pmid(text(ids.get("pmid")).rstrip("/").rsplit("/", 1)[-1]),
        abstract=abstract_text(data.get("abstract_inverted_index")),
        refs=[k for k in map(_work_id, refs) if k] if isinstance(refs, list) else None,
    )


class OpenAlexSource:
    name = "openalex"
    label = "OpenAlex"

    def __init__(self, client: JsonClient, batch: int | None = None, per_page: int | None = None) -> None:
        self.client, self.batch, self.per_page = client, batch or BATCH, per_page or PER_PAGE

    def lookup(self, seed: Seed) -> Work | None:
        for kind, value in (("doi", seed.doi), ("pmid", seed.pmid)):
            if value:
                work = self.client.get_json(
                    f"works/{kind}:{urllib.parse.quote(value, safe='/')}", {"select": FIELDS}, to_work
                )
                if work is not None:
                    return work
        return None

    def _list(self, flt: str, on_page: Callable[[list[Work]], None], asked: int = 1) -> None:
        """Every page of works?filter=…, by cursor; a short page before the last is retried.
        Paging stops when a cursor comes back (the cache would answer it for ever) and fails
        past what the answer's own count justifies, or past MAX_WORKS for each of the `asked`
        works the filter names."""
        cursor, seen, pages, most = "*", {"*"}, 0, math.ceil(MAX_WORKS * asked / self.per_page)
        while cursor:
            params = {"filter": flt, "per-page": self.per_page, "cursor": cursor, "select": FIELDS}

            def check(data: Any) -> tuple[list[Work], str, int | None]:
                if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                    raise TransientError("an answer without a list of results (damaged?)")
                meta = _dict(data.get("meta"))
                following = text(meta.get("next_cursor"))
                results = data["results"]
                if following and len(results) < self.per_page:
                    raise TransientError(f"a page of {len(results)} works before the last (truncated?)")
                return [to_work(r) for r in results], following, whole(meta.get("count"))

            works, following, count = self.client.get_json("works", params, check)
            on_page(works)
            pages += 1
            if pages == 1 and count is not None:
                most = min(most, math.ceil(count / self.per_page) + PAGE_MARGIN)
            if not works or not following or following in seen:
                return
            if pages >= most:
                shown = flt.split(":", 1)[-1].replace("|", ", ")
                raise ScreenerError(
                    f"OpenAlex kept paging past {pages * self.per_page} works for {shown} "
                    f"(its count: {count if count is not None else 'none given'}): "
                    "the answer looks damaged and was not followed further",
                    hint=f"at most {MAX_WORKS:,} works a seed and direction are taken; "
                    "try again later, or chase with --source europepmc",
                )
            seen.add(following)
            cursor = following

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
            self._list("cites:" + "|".join(chunk), works.extend, len(chunk))
            return works

        for chunk, works in zip(chunks, self.client.map(one, chunks), strict=True):
            wanted = set(chunk)
            for work in works:  # each citing work goes to the seeds its own references name
                for cited in dict.fromkeys(work.refs or []):
                    if cited in wanted:
                        out[cited].append(work)
        return out
