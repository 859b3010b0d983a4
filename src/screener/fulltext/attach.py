"""`screener fulltext attach DIR`: match a folder of PDFs to the records at the full-text stage.

`plan` reads every PDF (the first pages' text, cached) and decides what each one is, writing
nothing; `apply` copies the certain matches into fulltext/pdf/ (named from the record id,
never from the PDF's name) and appends their manifest lines; `decide` asks a person about the
uncertain ones. A PDF that cannot be read, has no text layer, matches nothing or matches
uncertainly is reported and never attached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ScreenerError
from ..names import atomic_write_beneath
from . import reports, stage_records
from .manifest import NEEDS_PREPARATION, PREPARED, Entry, append, ensure_pdf_folder, new_entry, pdf_file_name
from .match import ATTACH, NONE, Candidate, Matcher
from .text import (
    MAX_BYTES,
    PdfProblem,
    extract,
    ocr,
    ocr_available,
    ocr_cache_path,
    scan_hint,
    sha256_bytes,
)

# What happened to each PDF.
ATTACHED = "attached"
UNCERTAIN = "uncertain"
UNMATCHED = "unmatched"
UNREADABLE = "unreadable"
NO_TEXT = "no_text"
ALREADY = "already_attached"
DUPLICATE = "duplicate"
OUTCOMES = (ATTACHED, UNCERTAIN, UNMATCHED, UNREADABLE, NO_TEXT, ALREADY, DUPLICATE)
# Manifest lines are appended this many at a time (one fsynced write each).
BATCH = 50


@dataclass
class PdfOutcome:
    file: str  # the PDF's path relative to the folder attached
    outcome: str
    record_id: str = ""
    reason: str = ""
    sha256: str = ""
    title_found: bool = False
    candidates: list[Candidate] = field(default_factory=list)
    ocr_of: str = ""  # with --ocr: the sha256 of the file as found (sha256 is then the OCRed copy's)
    pdf_title: list[str] = field(default_factory=list)  # the PDF's own title line(s), shown to a person

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "outcome": self.outcome,
            "record_id": self.record_id,
            "reason": self.reason,
            "sha256": self.sha256,
            "candidates": [c.to_dict() for c in self.candidates[:5]],
            "ocr": bool(self.ocr_of),
            "pdf_title": self.pdf_title,
        }


@dataclass
class Plan:
    folder: Path
    outcomes: list[PdfOutcome]

    def counts(self) -> dict[str, int]:
        return {name: sum(o.outcome == name for o in self.outcomes) for name in OUTCOMES}


def find_pdfs(folder: Path) -> list[Path]:
    """The PDFs in `folder` and its subfolders, by name, in a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ScreenerError("is not a folder", path=folder, hint="name the folder that holds the PDFs")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())


def plan(
    review,  # noqa: ANN001
    folder: Path,
    progress: Callable[[int, int], None] | None = None,
    use_ocr: bool = False,
) -> Plan:
    """What attaching `folder` would do, PDF by PDF; nothing is written in the review. With
    `use_ocr`, a PDF without a text layer is OCRed (ocrmypdf, when installed) and its OCRed
    copy is what would be attached."""
    if use_ocr and not ocr_available():
        raise ScreenerError(
            "--ocr needs ocrmypdf, which is not installed",
            hint="install it (e.g. apt-get install ocrmypdf, or pip install ocrmypdf) or leave out --ocr",
        )
    stage = stage_records(review)
    records = stage[0]
    if not records:
        raise ScreenerError(
            "no records are at the full-text stage yet",
            hint="records reach it when finally included at title-abstract ('screener status')",
        )
    current = {r.record.id: r for r in reports(review, stage)[0]}
    matcher = Matcher(records)
    paths = find_pdfs(folder)
    outcomes: list[PdfOutcome] = []
    seen: dict[str, str] = {}  # sha256 -> the first file with those bytes
    for done, path in enumerate(paths):
        name = str(path.relative_to(folder))
        outcomes.append(_one(path, name, matcher, seen, use_ocr))
        if progress:
            progress(done + 1, len(paths))
    # One report per record: two PDFs for one record both wait for a person, and a record that
    # has a file already is never given another silently.
    chosen: dict[str, list[PdfOutcome]] = {}
    for outcome in outcomes:
        if outcome.outcome == ATTACHED:
            chosen.setdefault(outcome.record_id, []).append(outcome)
    for record_id, several in chosen.items():
        entry = current[record_id].entry if record_id in current else None
        for outcome in several:
            if entry is not None and entry.has_file and entry.sha256 == outcome.sha256:
                outcome.outcome, outcome.reason = ALREADY, f"already attached to {record_id}"
            elif entry is not None and entry.has_file:
                outcome.outcome = UNCERTAIN
                outcome.reason = f"{record_id} has another file attached already ({current[record_id].path})"
            elif len(several) > 1:
                outcome.outcome = UNCERTAIN
                outcome.reason = f"{len(several)} PDFs in the folder match {record_id}"
    return Plan(Path(folder), outcomes)


def _one(path: Path, name: str, matcher: Matcher, seen: dict[str, str], use_ocr: bool = False) -> PdfOutcome:
    try:
        if path.stat().st_size > MAX_BYTES:
            return PdfOutcome(name, UNREADABLE, reason=f"is larger than {MAX_BYTES >> 20} MiB")
        data = path.read_bytes()
    except OSError as exc:
        return PdfOutcome(name, UNREADABLE, reason=f"cannot be read ({exc.strerror})")
    digest = sha256_bytes(data)
    if digest in seen:
        return PdfOutcome(name, DUPLICATE, reason=f"the same file as {seen[digest]}", sha256=digest)
    seen[digest] = name
    try:
        pdf = extract(data, name)
    except PdfProblem as exc:
        return PdfOutcome(name, UNREADABLE, reason=str(exc).removeprefix(f"{name}: "), sha256=digest)
    original = ""
    if not pdf.has_text_layer() and use_ocr:
        try:
            data = ocr(data, name)
            pdf = extract(data, name)
        except PdfProblem as exc:
            return PdfOutcome(name, UNREADABLE, reason=str(exc).removeprefix(f"{name}: "), sha256=digest)
        original, digest = digest, sha256_bytes(data)
        if not pdf.has_text_layer():
            return PdfOutcome(name, NO_TEXT, reason="no text layer, even after OCR", sha256=digest)
    if not pdf.has_text_layer():
        return PdfOutcome(name, NO_TEXT, reason=scan_hint(), sha256=digest)
    match = matcher.match(pdf.text, pdf.metadata)
    outcome = {ATTACH: ATTACHED, NONE: UNMATCHED}.get(match.outcome, UNCERTAIN)
    return PdfOutcome(
        name,
        outcome,
        match.record_id,
        match.reason,
        digest,
        match.title_found,
        match.candidates,
        original,
        match.pdf_title,
    )


def apply(review, result: Plan, who: str) -> int:  # noqa: ANN001
    """Copy the attached PDFs into fulltext/pdf/ and append their manifest lines; returns how
    many. A PDF whose bytes changed since it was read is not attached (it is re-planned)."""
    todo = [o for o in result.outcomes if o.outcome == ATTACHED]
    return _attach(review, result.folder, [(o, o.record_id, o.title_found) for o in todo], who)


def _attach(review, folder: Path, items: list[tuple[PdfOutcome, str, bool]], who: str) -> int:  # noqa: ANN001
    if not items:
        return 0
    written = 0
    with review.lock():
        target = ensure_pdf_folder(review.root)
        batch: list[Entry] = []
        for outcome, record_id, title_found in items:
            # An OCRed copy is read from the cache, where ocr() keeps it by the original's hash.
            source = ocr_cache_path(outcome.ocr_of) if outcome.ocr_of else folder / outcome.file
            data = source.read_bytes()
            if sha256_bytes(data) != outcome.sha256:
                outcome.outcome, outcome.reason = (
                    UNCERTAIN,
                    "the file changed while screener read it; run again",
                )
                continue
            file_name = pdf_file_name(record_id)
            atomic_write_beneath(target / file_name, data, folders=2)
            state = PREPARED if title_found else NEEDS_PREPARATION
            notes = [] if title_found else ["the record's title is not in the first pages (wrong file?)"]
            if outcome.ocr_of:
                notes.append(f"text layer added by ocrmypdf (the file found had sha256 {outcome.ocr_of})")
            note = "; ".join(notes)
            batch.append(
                new_entry(
                    record_id,
                    state,
                    who,
                    sha256=outcome.sha256,
                    file=file_name,
                    source="attach",
                    original_name=Path(outcome.file).name,
                    note=note,
                )
            )
            written += 1
            if len(batch) >= BATCH:
                append(review.root, batch)
                batch = []
        append(review.root, batch)
    return written


# What `ask` answers for one uncertain PDF: a candidate's record id, "" to skip, None to stop.
Ask = Callable[[PdfOutcome], "str | None"]


def decide(review, result: Plan, ask: Ask, who: str) -> int:  # noqa: ANN001
    """Ask a person about each uncertain PDF (`fulltext attach --review`); each answer is
    attached at once, so quitting keeps what was decided. Returns how many were attached."""
    attached = 0
    for outcome in result.outcomes:
        if outcome.outcome != UNCERTAIN or not outcome.candidates:
            continue
        answer = ask(outcome)
        if answer is None:
            break
        if not answer:
            continue
        chosen = next((c for c in outcome.candidates if c.record_id == answer), None)
        if chosen is None:
            raise ScreenerError(f"{answer!r} is not one of the candidates for {outcome.file}")
        title_found = chosen.exact or chosen.score >= 90
        if _attach(review, result.folder, [(outcome, answer, title_found)], who):
            outcome.outcome, outcome.record_id, outcome.reason = ATTACHED, answer, f"chosen by {who}"
            attached += 1
    return attached
