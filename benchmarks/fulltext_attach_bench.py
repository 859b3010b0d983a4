"""`screener fulltext attach` of 1,000 PDFs: time, peak memory, and right / wrong / unmatched.

A review of generated records, all included at title-abstract, and a folder of generated PDFs
with real text layers (Helvetica text, two pages each): most are the reports of records (half
print their DOI, half only title, authors and year); some are near misses of a record (the
same authors, "Part II" of a record's "Part I", or one word changed) whose own record is not in
the review, and some are of nothing in the review. Right: attached to its own record, or not
attached when its record is absent; wrong: attached to another record; unmatched: its record
is there and it was not attached (it waits for a person, which is allowed, but counted).
The command runs as a user runs it (a subprocess, a cold text cache). Target: 60 s, 1 GiB.

    python benchmarks/fulltext_attach_bench.py [--pdfs 1000]

With the default --pdfs it records its figures in benchmarks/results/fulltext_attach_bench.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from results_file import write_results  # noqa: E402
from screener.review import Review, Reviewer, init_review  # noqa: E402
from screener.screening.decisions import DecisionLog, decision_path  # noqa: E402

PDFS = 1000
WORDS = (
    "exercise therapy depression anxiety older adults children randomised trial cohort outcomes "
    "mortality surgery hip knee replacement sleep cognitive decline diabetes insulin pressure "
    "blood stroke rehabilitation pain chronic acute care primary hospital nurses community "
    "vaccine influenza screening cancer breast colorectal liver resection survival quality life"
).split()
SURNAMES = (
    "Okafor Lindqvist Haddad Berg Moreau Patel Nowak Tanaka Silva Kowalski Novak Ahmed Garcia Chen".split()
)


def _pdf(lines: list[str], pages: int = 2) -> bytes:
    """A small real PDF: one Helvetica text line per entry on page 1, prose on the others."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    body = ["Methods: participants were allocated by computer and followed for twelve months."] * 30
    streams = []
    for page in range(pages):
        shown = lines + body if page == 0 else body
        ops = ["BT /F1 9 Tf 11 TL 50 800 Td"] + [f"({escape(line)}) Tj T*" for line in shown] + ["ET"]
        streams.append("\n".join(ops).encode("latin-1", "replace"))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, stream in enumerate(streams):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _title(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 9)).capitalize()


def build(folder: Path, pdfs: int, seed: int = 7) -> tuple[Review, Path, dict[str, str]]:
    """The review, the folder of PDFs, and each PDF's true title ('' when its record is absent)."""
    rng = random.Random(seed)
    near = pdfs // 20  # PDFs of absent near-miss siblings
    stray = pdfs // 20  # PDFs of nothing in the review
    own = pdfs - near - stray
    rows, truth = [], {}
    pdf_dir = folder / "pdfs"
    pdf_dir.mkdir(parents=True)
    for i in range(own + near):
        title = _title(rng)
        if i >= own:
            title += ": Part I"
        authors = rng.sample(SURNAMES, 3)
        year = 1995 + i % 28
        doi = f"10.{5000 + i % 50}/bench.{i}"
        rows.append(
            [
                title,
                "; ".join(f"{a}, {chr(65 + i % 26)}" for a in authors),
                year,
                doi,
                f"J{i % 40}",
                f"{i}-{i + 9}",
            ]
        )
        if i < own:
            lines = [title, ", ".join(f"{chr(65 + i % 26)}. {a}" for a in authors), f"J{i % 40} {year}"]
            if i % 2:
                lines.append(f"https://doi.org/{doi}")
            truth[f"p{i:04d}.pdf"] = title
        else:  # the sibling: same authors, Part II, its record not in the review
            lines = [title.replace("Part I", "Part II"), ", ".join(authors), f"J{i % 40} {year + 1}"]
            truth[f"p{i:04d}.pdf"] = ""
        (pdf_dir / f"p{i:04d}.pdf").write_bytes(_pdf(lines))
    for j in range(stray):
        name = f"s{j:04d}.pdf"
        (pdf_dir / name).write_bytes(_pdf([_title(rng) + " in penguins", "Z. Unknown", "Nature 2001"]))
        truth[name] = ""
    root = init_review(folder / "review", reviewers=[Reviewer("alice"), Reviewer("bob")])
    table = folder / "records.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "authors", "year", "doi", "journal", "pages"])
        writer.writerows(rows)
    review = Review(root)
    review.import_file(table, "bench")
    ids = [r.id for r in review.records()]
    for name in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", name))
        for record_id in ids:
            log.append(record_id, "include")
    return review, pdf_dir, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdfs", type=int, default=PDFS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        review, pdf_dir, truth = build(Path(tmp), args.pdfs)
        title_of = {r.id: r.title for r in review.records()}
        env = dict(os.environ, SCREENER_CACHE_DIR=str(Path(tmp) / "cache"), PYTHONPATH=str(REPO / "src"))
        command = [
            sys.executable,
            "-m",
            "screener",
            "--review",
            str(review.root),
            "fulltext",
            "attach",
            str(pdf_dir),
            "--json",
        ]
        # Parsing and deduplicating the records once (cached as a user's earlier commands would).
        subprocess.run(
            [sys.executable, "-m", "screener", "--review", str(review.root), "dedup"],
            env=env,
            capture_output=True,
            check=True,
        )
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(done.stderr)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # MiB (Linux: KiB)
        result = json.loads(done.stdout)
    right = wrong = unmatched = 0
    for item in result["pdfs"]:
        expected = truth[item["file"]]
        attached = item["outcome"] == "attached"
        if attached and title_of.get(item["record_id"]) != expected:
            wrong += 1
        elif attached or not expected:
            right += 1
        else:
            unmatched += 1
    figures = {
        "pdfs": len(result["pdfs"]),
        "seconds": round(wall, 1),
        "peak_rss_mib": round(peak),
        "right": right,
        "wrong": wrong,
        "unmatched": unmatched,
        "counts": result["counts"],
        "within_target": wall <= 60 and peak <= 1024 and wrong == 0,
        "target_seconds": 60,
        "target_peak_mib": 1024,
    }
    print(json.dumps(figures, indent=2))
    partial = f"--pdfs {args.pdfs}, not {PDFS:,}" if args.pdfs != PDFS else None
    write_results("fulltext_attach_bench", figures, partial=partial)


if __name__ == "__main__":
    main()
