"""Web of Science tagged text ("Plain text" / .ciw export; also Zoological Record and other
Clarivate platforms): two-letter tags, continuation lines indented by three spaces, `ER`
closing each record."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ImportFormatError
from ..records import Record, normalise_pmid, parse_year, split_pages

_TAG = re.compile(r"^([A-Z][A-Z0-9]) ?(.*)$")
_MULTI = {"AU", "AF", "CR", "C1", "CA", "ED", "BE", "BA", "BF", "GP", "RP"}


def parse(text: str, path: str | Path) -> list[Record]:
    records: list[Record] = []
    fields: dict[str, list[str]] | None = None
    last = ""
    start_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            continue
        if line.startswith("   ") or line.startswith("\t"):
            if fields is not None and last:
                value = line.strip()
                if last in _MULTI:
                    fields[last].append(value)
                else:
                    fields[last][-1] += " " + value
            continue
        match = _TAG.match(line)
        if not match:
            continue
        tag, value = match.group(1), match.group(2).strip()
        if tag in ("FN", "VR", "EF"):
            continue
        if tag == "PT":
            if fields is not None:
                raise ImportFormatError(
                    "a Web of Science record has no 'ER' line before the next 'PT'",
                    path=path,
                    line=start_line,
                    hint="the file may be damaged: export it again",
                )
            fields, start_line = {}, number
        if fields is None:
            continue
        if tag == "ER":
            records.append(to_record(fields))
            fields, last = None, ""
            continue
        fields.setdefault(tag, []).append(value)
        last = tag
    if fields is not None:
        raise ImportFormatError(
            "the last Web of Science record (starting here) has no 'ER' line: the file is truncated",
            path=path,
            line=start_line,
            hint="export it again",
        )
    if not records:
        raise ImportFormatError("has no Web of Science record (no 'PT' ... 'ER')", path=path)
    return records


def record_lines(text: str, path: str | Path = "") -> list[int]:
    """The `PT` line of each record `parse` returns, in order (for error messages)."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if _TAG.match(line.rstrip()) and line[:2] == "PT"
    ]


def _one(fields: dict[str, list[str]], tag: str) -> str:
    return " ".join(fields.get(tag, []))


def _split(fields: dict[str, list[str]], tag: str) -> list[str]:
    return [p.strip() for p in re.split(r";", _one(fields, tag)) if p.strip()]


def to_record(fields: dict[str, list[str]]) -> Record:
    accession = _one(fields, "UT")
    if accession.upper().startswith("WOS:"):
        source_id = "wos:" + accession[4:]
    elif ":" in accession:  # ZOOREC:ZOOR..., MEDLINE:123...
        prefix, _, number = accession.partition(":")
        source_id = f"{prefix.lower()}:{number}"
    else:
        source_id = f"wos:{accession}" if accession else ""
    pmid = normalise_pmid(_one(fields, "PM"))
    if not pmid and accession.upper().startswith("MEDLINE:"):
        pmid = normalise_pmid(accession.split(":", 1)[1])
    return Record(
        source_id=source_id,
        pmid=pmid,
        doi=_one(fields, "DI"),
        title=_one(fields, "TI"),
        abstract=_one(fields, "AB"),
        # Zoological Record appends e-mail addresses to author names.
        authors=[re.sub(r"\s*\([^()]*@[^()]*\)", "", a) for a in fields.get("AF") or fields.get("AU") or []],
        year=parse_year(_one(fields, "PY") or _one(fields, "PD")),
        journal=_one(fields, "SO"),
        journal_abbrev=_one(fields, "JI") or _one(fields, "J9"),
        volume=_one(fields, "VL"),
        issue=_one(fields, "IS"),
        pages=split_pages(_one(fields, "BP"), _one(fields, "EP")) or _one(fields, "AR"),
        keywords=_split(fields, "DE") + _split(fields, "ID"),
        publication_types=_split(fields, "DT"),
        language=_one(fields, "LA"),
        url=f"https://doi.org/{_one(fields, 'DI')}" if fields.get("DI") else "",
    )
