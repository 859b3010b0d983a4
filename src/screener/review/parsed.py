"""Parsed exports in the user's cache: records as marshal data, rebuilt when the parser changes
(PARSE_CACHE_VERSION), never trusted beyond what it can be checked against.
"""

from __future__ import annotations

import dataclasses
import marshal
from pathlib import Path

from ..importers import gc_paused
from ..records import Record
from ..textio import load_marshalled

# Bump when parsing changes what a file yields, so cached records are rebuilt.
PARSE_CACHE_VERSION = "4"

_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Record))


def _records_to_cache(records: list[Record]) -> bytes:
    # marshal of plain tuples: several times faster than pickling dataclass instances.
    with gc_paused():
        return marshal.dumps((_RECORD_FIELDS, [tuple(r.__dict__.values()) for r in records]))


def _records_from_cache(path: Path) -> list[Record]:
    with gc_paused():
        fields, rows = load_marshalled(path)
        if tuple(fields) != _RECORD_FIELDS:
            raise ValueError("cache written by another version")
        records = [Record(*row) for row in rows]
    # A damaged or forged entry is rebuilt, never trusted: the text fields must be text.
    for r in records:
        if not (isinstance(r.id, str) and isinstance(r.title, str) and isinstance(r.authors, list)):
            raise ValueError("cache entry of the wrong shape")
    return records
