"""PubMed MEDLINE / .nbib exports (and PMC's MEDLARS flavour).

Read line by line with Bio.Medline's rules (a tag in the first four columns, `- ` from the
fifth, continuation lines indented by six spaces, a blank line between records), but here, so
that what Biopython would silently merge or crash on is refused with its line: two records with
no blank line between them (read as one, the second lost), a continuation line with no tag
before it, and a file cut off inside its last record.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ImportFormatError
from ..records import Record, normalise_doi, normalise_pmid, parse_year

_RECORD_START = re.compile(r"^(?:PMID|PMC |TI  )- ", re.MULTILINE)
# Tags Bio.Medline joins into one string; every other tag is a list of values.
_TEXT_TAGS = frozenset(
    "ID PMID SO RF NI JC TA IS CY TT CA IP VI DP YR PG LID DA LR OWN STAT DCOM PUBM DEP PL JID SB "
    "PMC EDAT MHDA PST AB EA TI JT".split()
)
# A tag that opens every record: a second one in the same record means a blank line is missing.
_FIRST_TAGS = ("PMID", "PMC")
_HINT = "export it again from PubMed (Save > Format: PubMed)"


def entries(text: str, path: str | Path, strict: bool = True) -> list[tuple[int, dict]]:
    """(first line, fields) of every record, with Bio.Medline's values; `text` has \\n ends.

    `strict=False` reads two records with no blank line between them as one, as Biopython did
    when files stored in a review were imported (see `importers.parse_bytes`).
    """
    out: list[tuple[int, dict]] = []
    fields: dict[str, list[str]] = {}
    key = ""
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line[:6] == "      ":
            if not fields and not line.strip():
                continue  # spaces on the blank line between records
            if not fields:
                raise ImportFormatError(
                    "a continuation line (indented by six spaces) has no tag before it in its record",
                    path=path,
                    line=number,
                    hint="the blank line before it may be wrong; " + _HINT,
                )
            line = line.rstrip() or "      \n"
            if key in ("MH", "AD"):
                fields[key][-1] += line[5:]
            else:
                fields[key].append(line[6:])
        elif line:
            line = line.rstrip()
            key = line[:4].rstrip()
            if strict and key in _FIRST_TAGS and key in fields:
                raise ImportFormatError(
                    f"a second '{key}' line in one record: two records have no blank line between "
                    "them (the second would be lost)",
                    path=path,
                    line=number,
                    hint="put a blank line before it, or " + _HINT,
                )
            if not fields:
                start = number
            fields.setdefault(key, []).append(line[6:])
        elif fields:
            out.append((start, _joined(fields)))
            fields, key = {}, ""
    if fields:
        out.append((start, _joined(fields)))
    return out


def _joined(fields: dict[str, list[str]]) -> dict:
    return {k: " ".join(v) if k in _TEXT_TAGS else v for k, v in fields.items()}


def check_complete(found: list[tuple[int, dict]], path: str | Path) -> None:
    """Refuse a file cut off inside its last record.

    PubMed writes `SO` (the source citation) last in every record, PMC's MEDLARS flavour too:
    a last record without it was cut off. When no record of the file has one, the file comes
    from elsewhere and nothing can be concluded.
    """
    if not found:
        return
    line, last = found[-1]
    if "SO" in last:
        return
    if len(found) == 1 or any("SO" in fields for _, fields in found[:-1]):
        raise ImportFormatError(
            "the last record (starting here) has no 'SO  - ' line, which PubMed writes last in "
            "every record: the file looks cut off",
            path=path,
            line=line,
            hint=_HINT,
        )


def record_lines(text: str, path: str | Path) -> list[int]:
    """The first line of each record `parse` returns, in order (for error messages)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line for line, _ in entries(text, path)]


def parse(text: str, path: str | Path, strict: bool = True) -> list[Record]:
    if not _RECORD_START.search(text):
        raise ImportFormatError(
            "has no MEDLINE record (no 'PMID- ' line)",
            path=path,
            hint="export from PubMed with 'Save > Format: PubMed'",
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = entries(text, path, strict)
    if strict:
        check_complete(found, path)
    return [to_record(fields) for _, fields in found]


def _as_list(value: object) -> list[str]:
    if not value:
        return []
    return list(value) if isinstance(value, list) else [str(value)]


def _one(entry: dict, key: str) -> str:
    value = entry.get(key, "")
    return " ".join(value) if isinstance(value, list) else str(value)


def to_record(entry: dict) -> Record:
    pmid = normalise_pmid(_one(entry, "PMID"))
    doi = ""
    for ident in _as_list(entry.get("LID")) + _as_list(entry.get("AID")):
        if "[doi]" in ident:
            doi = normalise_doi(ident)
            if doi:
                break
    authors = _as_list(entry.get("FAU")) or _as_list(entry.get("AU"))
    authors += _as_list(entry.get("CN"))  # group authors ("Cochrane Collaboration")
    mesh = [term.replace("*", "") for term in _as_list(entry.get("MH"))]
    url = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else ""
    if not url and entry.get("PMC"):
        url = f"https://www.ncbi.nlm.nih.gov/pmc/articles/{_one(entry, 'PMC')}/"
    return Record(
        source_id=f"pmc:{_one(entry, 'PMC')}" if entry.get("PMC") and not pmid else "",
        pmid=pmid,
        doi=doi,
        title=_one(entry, "TI") or _one(entry, "BTI"),
        abstract=_one(entry, "AB"),
        authors=authors,
        year=parse_year(_one(entry, "DP") or _one(entry, "DEP")),
        journal=_one(entry, "JT"),
        journal_abbrev=_one(entry, "TA") or _one(entry, "JT"),
        volume=_one(entry, "VI"),
        issue=_one(entry, "IP"),
        pages=_one(entry, "PG"),
        keywords=_as_list(entry.get("OT")),
        mesh=mesh,
        publication_types=_as_list(entry.get("PT")),
        language=", ".join(_as_list(entry.get("LA"))),
        url=url,
    )
