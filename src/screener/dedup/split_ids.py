"""Split ids, recorded: `labels/ids.csv`, append-only, so an id once given keeps naming its record.

When one id (a DOI) names records that dedup keeps apart, the record the review held first keeps
it and the others take `<id>~<hash>` (see `split_shared_ids`). Which record held it first
depends on what the review holds: remove the article and its erratum would be alone and take
the DOI id back, with the article's decisions. So every command that changes what the review
holds (import, update, import --remove, dedup) records each split here first, by the record's
place (search, the stored file's sha256, its position in the file), and every later run reads
it back: the erratum stays `doi:X~<hash>` whatever comes or goes.

Columns: search, file_sha256, position, shared_id, split_id, timestamp, version. A line is only
honoured for the record it names when that record's own id is `shared_id` and `split_id` is
`shared_id~...`: a line cannot give a record another record's id.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import __version__
from ..errors import ScreenerError
from ..records import Record

COLUMNS = ("search", "file_sha256", "position", "shared_id", "split_id", "timestamp", "version")
RecordKey = tuple[str, str, int]  # search, stored file's sha256, position in the file


def ids_path(review) -> Path:  # noqa: ANN001 - Review
    from ..names import inside

    return inside(review.root, "labels", "ids.csv", what="labels")


def record_keys(review) -> list[RecordKey]:  # noqa: ANN001 - Review
    """The place of every record of review.records(), in the same order."""
    return [(search.name, file.sha256, position) for search, file, position in review.record_files()]


def _is_complete(row: list[str]) -> bool:
    return len(row) >= 5 and all(cell.strip() for cell in row[:5])


def read_recorded(review) -> dict[RecordKey, tuple[str, str]]:  # noqa: ANN001 - Review
    """Every recorded split: record place -> (shared id, split id); the latest line wins."""
    from ..applog import read_rows

    path = ids_path(review)
    out: dict[RecordKey, tuple[str, str]] = {}
    for number, row in read_rows(path, COLUMNS[0], _is_complete).rows:
        if not _is_complete(row) or not row[2].strip().isdigit():
            raise ScreenerError(
                f"expected {','.join(COLUMNS[:5])},... but found {','.join(row)[:80]!r}",
                path=path,
                line=number,
                hint="screener writes this file: restore it from git (git log -p shows what changed)",
            )
        search, sha256, position, shared, split = (cell.strip() for cell in row[:5])
        if not split.startswith(shared + "~") or len(split) == len(shared) + 1:
            raise ScreenerError(
                f"split id {split!r} is not the shared id {shared!r} followed by '~' and a suffix",
                path=path,
                line=number,
                hint="a line may only give a record a split id of its own id; restore the file from git",
            )
        out[(search, sha256.lower(), int(position))] = (shared, split)
    return out


def apply_recorded(review, records: list[Record]) -> list[Record]:  # noqa: ANN001 - Review
    """review.records() with each recorded split id in place (copies; the inputs are untouched)."""
    from dataclasses import replace

    recorded = read_recorded(review)
    if not recorded:
        return records
    out = list(records)
    for index, key in enumerate(record_keys(review)):
        entry = recorded.get(key)
        if entry is not None and index < len(out) and out[index].id == entry[0]:
            out[index] = replace(out[index], id=entry[1])
    return out


def unrecorded_splits(review, outcome=None) -> list[tuple[RecordKey, str, str]]:  # noqa: ANN001
    """Splits dedup makes now that labels/ids.csv does not hold yet: (place, shared, split)."""
    from . import dedup_review

    outcome = outcome or dedup_review(review)
    before = apply_recorded(review, review.records())
    keys = record_keys(review)
    return [
        (keys[i], before[i].id, after.id)
        for i, after in enumerate(outcome.result.records)
        if i < len(before) and i < len(keys) and after.id != before[i].id
    ]


def record_splits(review, outcome=None) -> int:  # noqa: ANN001 - Review, ReviewDedup
    """Append every split not recorded yet (see the module's docstring); returns how many."""
    from ..applog import append_rows

    with review.lock():
        new = unrecorded_splits(review, outcome)
        if not new:
            return 0
        stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        rows = [
            [search, sha256, str(position), shared, split, stamp, __version__]
            for (search, sha256, position), shared, split in new
        ]
        append_rows(ids_path(review), COLUMNS, rows, _is_complete)
        return len(rows)
