"""PDFs made at test time (matplotlib writes a real text layer) and a review whose records are
at the full-text stage."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from screener.review import Review, Reviewer, init_review
from screener.screening.decisions import DecisionLog, decision_path

BODY = [
    "Background: we studied the question in a randomised trial of adults in primary care.",
    "Methods: participants were allocated by computer and followed for twelve months.",
    "Results: the primary outcome improved in the intervention group compared with control.",
    "Conclusions: the intervention is effective and safe in this population of patients.",
]


def make_pdf(lines: list[str], metadata: dict[str, str] | None = None, pages: int = 1) -> bytes:
    """A real PDF whose first page shows `lines` (then a body of prose), with a text layer."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(buffer, metadata=metadata or {}) as pdf:
        for page in range(pages):
            figure = Figure(figsize=(8.27, 11.69))
            y = 0.95
            for line in (lines if page == 0 else [f"Page {page + 1} of the report"]) + BODY:
                figure.text(0.06, y, line, fontsize=9)
                y -= 0.03
            pdf.savefig(figure)
    return buffer.getvalue()


def article(title: str, authors: str, year: int, doi: str = "", journal: str = "J Test Med") -> bytes:
    lines = [*_wrap(title), authors, f"{journal} {year}" + (f"; doi:{doi}" if doi else "")]
    return make_pdf(lines)


def _wrap(title: str, width: int = 70) -> list[str]:
    words, lines, line = title.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]


def fulltext_review(tmp_path: Path, rows: list[dict[str, str]]) -> Review:
    """A review of `rows` (title, authors, year, doi, journal, pages), all included at
    title-abstract by both screeners, so all are at the full-text stage."""
    root = init_review(tmp_path / "review", reviewers=[Reviewer("alice"), Reviewer("bob")])
    review = Review(root)
    table = tmp_path / "records.csv"
    columns = ["title", "authors", "year", "doi", "journal", "pages"]
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    review.import_file(table, "search")
    studies = review.records()
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for study in studies:
            log.append(study.id, "include")
    return review


def write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path
