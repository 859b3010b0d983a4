"""Full texts of the records at the full-text stage: where they live, their states, their text.

Parts: `manifest` (fulltext/manifest.csv and fulltext/pdf/), `text` (pypdf, cached, checked),
`match` (which record a PDF belongs to), `attach` (a folder of PDFs into the review). Here:
what every command asks, the records at the full-text stage with each one's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ScreenerError
from ..records import Record, safe_text
from .manifest import (
    NEEDS_RETRIEVAL,
    NOT_AVAILABLE,
    PREPARED,
    Entry,
    append,
    latest,
    new_entry,
    pdf_folder,
    read_manifest,
)


@dataclass
class Report:
    """One record at the full-text stage and what the manifest says of its report."""

    record: Record
    entry: Entry | None
    present: bool  # the file is in this clone's fulltext/pdf/

    @property
    def state(self) -> str:
        return self.entry.state if self.entry else NEEDS_RETRIEVAL

    @property
    def has_file(self) -> bool:
        return self.entry is not None and self.entry.has_file

    @property
    def path(self) -> str:
        """The file's path relative to the review's folder ('' without one)."""
        return f"fulltext/pdf/{self.entry.file}" if self.has_file and self.entry else ""

    def to_dict(self) -> dict[str, Any]:
        """The stable contract of `screener fulltext status --json` (docs/review-format.md)."""
        data: dict[str, Any] = {"record_id": self.record.id, "state": self.state, "title": self.record.title}
        if self.entry is not None:
            if self.has_file:
                data.update(sha256=self.entry.sha256, path=self.path, present=self.present)
            data.update(
                source=self.entry.source,
                original_name=self.entry.original_name,
                url=self.entry.url,
                date=self.entry.timestamp,
                who=self.entry.who,
                note=self.entry.note,
            )
        return data


def stage_records(review) -> tuple[list[Record], dict[str, str]]:  # noqa: ANN001 - a review.Review
    """The records at the full-text stage (finally included at title-abstract) and the map from
    every record id to its study."""
    from ..screening import load_stage, review_studies

    studies, member_of = review_studies(review)
    view = load_stage(review, "full-text", studies, member_of)
    return view.records, member_of


def reports(
    review, stage: tuple[list[Record], dict[str, str]] | None = None
) -> tuple[list[Report], list[str]]:  # noqa: ANN001
    """Each record at the full-text stage with its manifest line, and warnings (interrupted
    manifest lines). `stage`: stage_records(review) when the caller has it."""
    records, member_of = stage or stage_records(review)
    entries, skipped = read_manifest(review.root)
    by_study = latest(entries, member_of)
    folder = pdf_folder(review.root)
    out = []
    for record in records:
        entry = by_study.get(record.id)
        present = bool(entry and entry.has_file and (folder / entry.file).is_file())
        out.append(Report(record, entry, present))
    return out, skipped


def missing_reports(review) -> tuple[dict[str, str], int]:  # noqa: ANN001 - a review.Review
    """The records at the full-text stage still to fetch (no file attached), id -> manifest
    state, and how many more have no file but a final exclude or not-retrieved: a request for
    those would fetch a report no one needs."""
    from ..screening import load_stage, review_studies

    studies, member_of = review_studies(review)
    view = load_stage(review, "full-text", studies, member_of)
    lacking = {r.record.id: r.state for r in reports(review, (view.records, member_of))[0] if not r.has_file}
    done = {rid for rid in lacking if rid in view.final and view.final[rid].decision != "include"}
    return {rid: state for rid, state in lacking.items() if rid not in done}, len(done)


def find_report(review, record_id: str) -> Report:  # noqa: ANN001
    """The report of `record_id` (any copy of the study), or an error saying what to do."""
    stage = stage_records(review)
    study = stage[1].get(record_id, record_id)
    for report in reports(review, stage)[0]:
        if report.record.id == study:
            return report
    if record_id in stage[1]:
        raise ScreenerError(
            f"record {record_id} is not at the full-text stage (it is not included at title-abstract)",
            hint="'screener fulltext status' lists the records at the full-text stage",
        )
    raise ScreenerError(
        f"no record {record_id!r} in the review", hint="'screener fulltext status' lists the ids"
    )


# (path, inode, size, mtime) -> sha256 of a file already hashed: the screen asks again and again.
_HASHED: dict[tuple[str, int, int, int], str] = {}


def verified_pdf(review, report: Report) -> bytes:  # noqa: ANN001 - a review.Review
    """The bytes of `report`'s PDF, refused (one line) when they are not the file the manifest
    recorded: a PDF replaced by hand (or damaged) is never shown as the record's report."""
    import hashlib

    from ..names import read_regular_bytes

    assert report.entry is not None
    path = pdf_folder(review.root) / report.entry.file
    data = read_regular_bytes(path)
    try:
        info = path.stat()
        key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    except OSError:
        key = None
    digest = _HASHED.get(key) if key else None
    if digest is None:
        digest = hashlib.sha256(data).hexdigest()
        if key:
            _HASHED[key] = digest
    if report.entry.sha256 and digest != report.entry.sha256.lower():
        raise ScreenerError(
            f"{report.path} was replaced or damaged since it was attached to {report.record.id} "
            "(its sha256 is not the manifest's)",
            hint="attach the right file again: screener fulltext attach FOLDER",
        )
    return data


def report_text(review, record_id: str) -> str:  # noqa: ANN001
    """The whole text of a record's report with page marks (`screener fulltext show`), each
    control character a space (a PDF's text may hold escape sequences; newlines are kept)."""
    from .text import extract, scan_hint

    report = find_report(review, record_id)
    if not report.has_file:
        raise ScreenerError(
            f"record {report.record.id} has no full text attached (state: {report.state})",
            hint="attach it: screener fulltext attach FOLDER",
        )
    if not report.present:
        raise ScreenerError(
            f"record {report.record.id}'s PDF ({report.path}) is not in this clone",
            hint="copy fulltext/pdf/ from a teammate (PDFs are never committed), or attach it again",
        )
    pdf = extract(verified_pdf(review, report), report.path, pages=None)
    if not pdf.has_text_layer():
        raise ScreenerError(f"{report.path}: {scan_hint()}")
    return safe_text(pdf.with_page_marks())


# What a person may set by hand (`screener fulltext mark`).
MARKS = (NOT_AVAILABLE, NEEDS_RETRIEVAL, PREPARED)


def mark(review, record_id: str, state: str, who: str, note: str = "") -> Entry:  # noqa: ANN001
    """Record a person's word on a report: no copy can be found (`not_available`), the file
    attached is wrong and is set aside (`needs_manual_retrieval`), or a file that needed a look
    is fine (`prepared`, keeping its file and sha256)."""
    if state not in MARKS:
        raise ScreenerError(f"a report can be marked {', '.join(MARKS)}, not {state!r}")
    report = find_report(review, record_id)
    if state == PREPARED:
        if not report.has_file or report.entry is None:
            raise ScreenerError(
                f"record {report.record.id} has no file to call prepared",
                hint="attach it first: screener fulltext attach FOLDER",
            )
        old = report.entry
        entry = new_entry(
            report.record.id,
            PREPARED,
            who,
            sha256=old.sha256,
            file=old.file,
            source=old.source,
            original_name=old.original_name,
            url=old.url,
            note=note,
        )
    else:
        entry = new_entry(report.record.id, state, who, note=note)
    with review.lock():
        append(review.root, [entry])
    return entry


def summary(review, stage: tuple[list[Record], dict[str, str]] | None = None) -> dict[str, Any]:  # noqa: ANN001
    """Counts for `screener status`: records at the full-text stage per state, with a file, without
    one, files this clone lacks, and where the files came from. `stage`: stage_records(review)
    when the caller has it."""
    items, _ = reports(review, stage)
    states: dict[str, int] = {}
    sources: dict[str, int] = {}
    for item in items:
        states[item.state] = states.get(item.state, 0) + 1
        if item.has_file and item.entry is not None:
            sources[item.entry.source or "unknown"] = sources.get(item.entry.source or "unknown", 0) + 1
    return {
        "records": len(items),
        "with_file": sum(i.has_file for i in items),
        "without_file": sum(not i.has_file for i in items),
        "not_in_this_clone": sum(i.has_file and not i.present for i in items),
        "states": states,
        "sources": sources,
    }
