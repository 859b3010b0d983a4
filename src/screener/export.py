"""Export the review's final decisions, with reasons and notes, as RIS, CSV or BibTeX.

One row per study (the deduplicated record, with every source id it merged), its final decision
at the chosen stage, the reason, who decided, and every reviewer's note. CSV cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .errors import ScreenerError
from .outputs import csv_line, safe_cell
from .records import Record

__all__ = ["export", "final_decisions", "safe_cell", "safe_url", "to_bibtex", "to_csv", "to_ris"]

FORMATS = ("ris", "csv", "bibtex")
DECISION_FILTERS = ("included", "excluded", "all")
CSV_COLUMNS = (
    "study_id",
    "decision",
    "reason",
    "decided_by",
    "notes",
    "tags",
    "merged_ids",
    "searches",
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "abstract",
    "keywords",
)


@dataclass
class ExportRow:
    record: Record
    # include, exclude, not-retrieved (final); conflict (votes disagree, the resolver has not
    # answered), open (fewer votes than needed), undecided (no vote yet)
    decision: str
    reason: str
    decided_by: str
    notes: list[str]  # "reviewer: note"
    tags: list[str] = field(default_factory=list)  # "reviewer: tag; tag" (the labels files' tags column)


def final_decisions(review, stage: str = "full-text", decision: str = "included") -> list[ExportRow]:  # noqa: ANN001
    """Studies of a stage with their final decisions; `decision` filters (all keeps the records
    not final yet, each said as conflict, open or undecided)."""
    from .screening import STAGES, load_stage, review_studies

    if stage not in STAGES:
        raise ScreenerError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    if decision not in DECISION_FILTERS:
        raise ScreenerError(f"--decision must be one of {', '.join(DECISION_FILTERS)}")
    studies, member_of = review_studies(review)
    view = load_stage(review, stage, studies, member_of)
    rows = []
    waiting = {c.record_id: "conflict" if c.to_resolve else "open" for c in view.conflicts}
    for record in view.records:
        final = view.final.get(record.id)
        outcome = final.decision if final else waiting.get(record.id, "undecided")
        if decision == "included" and outcome != "include":
            continue
        if decision == "excluded" and outcome not in ("exclude", "not-retrieved"):
            continue
        notes = [
            f"{name}: {decisions[record.id].note}"
            for name, decisions in view.decisions.items()
            if record.id in decisions and decisions[record.id].note
        ]
        tags = [
            f"{name}: {decisions[record.id].tags}"
            for name, decisions in view.decisions.items()
            if record.id in decisions and decisions[record.id].tags
        ]
        rows.append(
            ExportRow(record, outcome, final.reason if final else "", final.by if final else "", notes, tags)
        )
    return rows


# -- CSV ---------------------------------------------------------------------------------
# safe_cell lives with the other outputs a person opens (dedup --output, prisma --format csv).


def _fields(row: ExportRow) -> dict[str, Any]:
    r = row.record
    return {
        "study_id": r.id,
        "decision": row.decision,
        "reason": row.reason,
        "decided_by": row.decided_by,
        "notes": " | ".join(row.notes),
        "tags": " | ".join(row.tags),
        "merged_ids": r.extra.get("merged_ids", r.id),
        "searches": r.extra.get("merged_searches", r.search),
        "title": r.title,
        "authors": "; ".join(r.authors),
        "year": r.year or "",
        "journal": r.journal or r.journal_abbrev,
        "volume": r.volume,
        "issue": r.issue,
        "pages": r.pages,
        "doi": r.doi,
        "pmid": r.pmid,
        "abstract": r.abstract,
        "keywords": "; ".join(r.keywords or r.mesh),
    }


def to_csv(rows: list[ExportRow]) -> str:
    lines = [csv_line(CSV_COLUMNS)]
    for row in rows:
        fields = _fields(row)
        lines.append(csv_line([safe_cell(fields[c]) for c in CSV_COLUMNS]))
    return "".join(lines)


# -- RIS ---------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _decision_note(row: ExportRow) -> str:
    parts = [f"screener decision: {row.decision}"]
    if row.reason:
        parts.append(f"reason: {row.reason}")
    if row.decided_by:
        parts.append(f"decided by: {row.decided_by}")
    parts.extend(f"note {n}" for n in row.notes)
    parts.extend(f"tags {t}" for t in row.tags)
    return "; ".join(_one_line(p) for p in parts)


# Schemes a reference manager may open from an exported record; anything else (javascript:,
# data:, file:, vbscript:) is dropped: the export is opened and clicked in other programs.
SAFE_URL_SCHEMES = frozenset(("http", "https", "ftp", "doi"))
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def safe_url(url: str) -> str:
    """`url` when it has a safe scheme (or none), else "". Browsers ignore white space and
    control characters inside a scheme ('java\tscript:'), so they do not hide one here."""
    compact = re.sub(r"[\s\x00-\x1f\x7f-\x9f]", "", url or "")
    scheme = _SCHEME.match(compact)
    if scheme is None:
        return "" if ":" in compact.split("/", 1)[0] else url
    return url if scheme.group(1).lower() in SAFE_URL_SCHEMES else ""


def to_ris(rows: list[ExportRow]) -> str:
    lines: list[str] = []

    def tag(name: str, value: Any) -> None:
        value = _one_line(value) if value not in (None, "") else ""
        if value:
            lines.append(f"{name}  - {value}")

    for row in rows:
        r = row.record
        lines.append("TY  - JOUR")
        tag("ID", r.id)
        tag("TI", r.title)
        for author in r.authors:
            tag("AU", author)
        tag("PY", r.year)
        tag("T2", r.journal)
        tag("J2", r.journal_abbrev)
        tag("VL", r.volume)
        tag("IS", r.issue)
        first, _, last = r.pages.partition("-")
        tag("SP", first)
        tag("EP", last)
        tag("DO", r.doi)
        if r.pmid:
            tag("N1", f"PMID: {r.pmid}")  # RIS has no PMID tag; reference managers read this note
        tag("AB", r.abstract)
        for keyword in r.keywords or r.mesh:
            tag("KW", keyword)
        tag("LA", r.language)
        tag("UR", safe_url(r.url))
        tag("N1", _decision_note(row))
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


# -- BibTeX ------------------------------------------------------------------------------

_BIB_SPECIAL = str.maketrans(
    {
        "{": "\\{",
        "}": "\\}",
        "\\": "\\textbackslash{}",
        "%": "\\%",
        "&": "\\&",
        "#": "\\#",
        "$": "\\$",
        "_": "\\_",
    }
)


def _bib_value(text: Any) -> str:
    return _one_line(text).translate(_BIB_SPECIAL)


# A DOI is a verbatim field (biblatex; BibTeX styles print it through \url or \doi): escaped,
# "10.1007/978-3-319-1_12" would resolve as "10.1007/978-3-319-1\_12". Only what would break
# the entry (braces, a backslash) is written percent-encoded, as DOI resolvers read it.
_BIB_VERBATIM = str.maketrans({"{": "%7B", "}": "%7D", "\\": "%5C"})


def _bib_verbatim(text: Any) -> str:
    return _one_line(text).translate(_BIB_VERBATIM)


def _bib_key(record: Record, used: set[str]) -> str:
    surname = record.authors[0].split(",")[0].split()[0] if record.authors else "anon"
    ascii_name = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9]", "", ascii_name).lower() or "anon"
    base += str(record.year or "")
    key, n = base, 0
    while key in used:
        n += 1
        key = base + "abcdefghijklmnopqrstuvwxyz"[(n - 1) % 26] + ("" if n <= 26 else str(n))
    used.add(key)
    return key


def to_bibtex(rows: list[ExportRow]) -> str:
    used: set[str] = set()
    entries = []
    for row in rows:
        r = row.record
        fields = {
            "title": r.title,
            "author": " and ".join(r.authors),
            "year": r.year or "",
            "journal": r.journal or r.journal_abbrev,
            "volume": r.volume,
            "number": r.issue,
            "pages": r.pages.replace("-", "--"),
            "doi": r.doi,
            "pmid": r.pmid,
            "abstract": r.abstract,
            "keywords": ", ".join(r.keywords or r.mesh),
            "note": _decision_note(row),
        }
        body = ",\n".join(
            f"  {k} = {{{_bib_verbatim(v) if k == 'doi' else _bib_value(v)}}}"
            for k, v in fields.items()
            if v not in ("", None)
        )
        entries.append(f"@article{{{_bib_key(r, used)},\n{body}\n}}\n")
    return "\n".join(entries)


WRITERS = {"csv": to_csv, "ris": to_ris, "bibtex": to_bibtex}


def export(review, stage: str, decision: str, fmt: str) -> tuple[str, int]:  # noqa: ANN001
    """The export text and how many studies it holds."""
    if fmt not in WRITERS:
        raise ScreenerError(f"--format must be one of {', '.join(FORMATS)}")
    rows = final_decisions(review, stage, decision)
    return WRITERS[fmt](rows), len(rows)
