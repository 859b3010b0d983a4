"""Labelled datasets for simulation: any table the importers read, with its label columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ScreenerError
from ..importers import read_records
from ..records import Record
from .features import record_text

# Column names for each level, as the labelled datasets write them.
FINAL_COLUMNS = ("label_included", "included", "final_included", "included_final", "label")
TA_COLUMNS = ("label_abstract_screening", "label_abstract", "abstract_included", "title_abstract_included")


def _as_int(value: str) -> int | None:
    text = str(value).strip()
    if text in ("", "nan", "NA", "None"):
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


# Label cells as labelled datasets and screening tools write them, besides 1 and 0.
_LABEL_WORDS = {
    "1": 1,
    "yes": 1,
    "y": 1,
    "true": 1,
    "include": 1,
    "included": 1,
    "relevant": 1,
    "0": 0,
    "no": 0,
    "n": 0,
    "false": 0,
    "exclude": 0,
    "excluded": 0,
    "irrelevant": 0,
}


def _as_label(value: str) -> int | None | str:
    """1 or 0; None for an empty cell; the cell itself when it is no label."""
    text = str(value).strip()
    if text in ("", "nan", "NA", "None"):
        return None
    found = _LABEL_WORDS.get(text.casefold())
    if found is None:
        number = _as_int(text)
        found = number if number in (0, 1) else None
    return text if found is None else found


def load_labelled(path: str | Path, level: str = "final") -> tuple[list[Record], np.ndarray]:
    """Records in file row order and their 0/1 labels at `level` ("ta" or "final").

    `inclusion_code` (0 excluded at title/abstract, 1 excluded at full text, 2 included) serves
    both levels where no label column does.
    """
    if level not in ("ta", "final"):
        raise ScreenerError("--level must be ta or final")
    records = read_records(path).records
    columns = FINAL_COLUMNS if level == "final" else TA_COLUMNS
    present = records[0].extra.keys() if records else set()
    column = next((c for c in columns if any(c in r.extra for r in records[:50])), None)
    labels: list[int | None]
    if column is not None:
        cells = [_as_label(r.extra.get(column, "")) for r in records]
        odd = [k for k, v in enumerate(cells) if isinstance(v, str)]
        if odd:
            raise ScreenerError(
                f"{len(odd)} rows have a {column} that is no label: {cells[odd[0]]!r} "
                f"(first: data row {odd[0] + 1})",
                path=path,
                line=odd[0] + 2,
                hint="labels are 1 or 0 (yes/no, true/false, included/excluded are read as such)",
            )
        labels = [v if isinstance(v, int) else None for v in cells]
    elif any("inclusion_code" in r.extra for r in records[:50]):
        threshold = 2 if level == "final" else 1
        labels = [
            None if (c := _as_int(r.extra.get("inclusion_code", ""))) is None else int(c >= threshold)
            for r in records
        ]
    else:
        raise ScreenerError(
            f"has no {'final inclusion' if level == 'final' else 'title/abstract'} label column "
            f"(looked for {', '.join(columns)}; columns: {', '.join(list(present)[:12])})",
            path=path,
            line=1,
            hint="use --level final" if level == "ta" else "add a label_included column (1/0)",
        )
    missing = [k for k, v in enumerate(labels) if v is None]
    if missing:
        raise ScreenerError(
            f"{len(missing)} rows have no label (first: data row {missing[0] + 1})",
            path=path,
            line=missing[0] + 2,
            hint="simulation needs every record labelled 0 or 1",
        )
    array = np.array(labels, dtype=int)
    if array.sum() == 0 or array.sum() == len(array):
        raise ScreenerError("needs both relevant (1) and irrelevant (0) records", path=path)
    return records, array


def texts_of(records: list[Record]) -> list[str]:
    return [record_text(r) for r in records]
