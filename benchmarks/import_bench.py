"""Import throughput: our whole `screener import` against the raw parser alone, same file, same run.

Builds MEDLINE and RIS files of N records (default 100,000) by replicating real export records
(../shared/data/fixtures, else tests/samples) with fresh PMIDs / DOIs / titles, then times, in
alternating rounds:
  raw parser   Bio.Medline.parse / rispy over the file (records materialised in a list)
  screener     Review.import_file: read, decode, detect, parse, map to records, ids, store the
               raw file and provenance, write the parsed cache
Prints median seconds, records/s and the ratio (target: screener at most 1.5x the raw parser).

    python benchmarks/import_bench.py [--records 100000] [--rounds 3] [--json]

With the default --records it records its figures in benchmarks/results/import_bench.json.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import rispy
from Bio import Medline

from results_file import write_results
from screener.review import Review, init_review

RECORDS = 100_000
REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "data" / "fixtures"
SAMPLES = REPO / "tests" / "samples"


def source_blocks(kind: str) -> list[str]:
    """Real records to replicate: MEDLINE blocks or RIS records (as text)."""
    if kind == "medline":
        files = [
            FIXTURES / "revtools_exports/restoration_pubmed.nbib",
            FIXTURES / "nbib_pubmed_export/pubmed-balloongui-set.nbib",
        ]
        files = [f for f in files if f.exists()] or [SAMPLES / "medline.nbib"]
        text = "\n\n".join(f.read_text(encoding="utf-8-sig").replace("\r\n", "\n") for f in files)
        return [b.strip("\n") for b in re.split(r"\n\s*\n(?=PMID- )", text) if "PMID-" in b]
    files = [
        FIXTURES / "revtools_exports/restoration_scopus.ris",
        FIXTURES / "asreview_demo_exports/_baseline.ris",
    ]
    files = [f for f in files if f.exists()] or [SAMPLES / "embase.ris"]
    text = "\n".join(f.read_text(encoding="utf-8-sig").replace("\r\n", "\n") for f in files)
    return [b.strip("\n") + "\nER  - " for b in re.split(r"^ER  -.*$", text, flags=re.M) if "TY  -" in b]


def build_file(kind: str, count: int, folder: Path) -> Path:
    blocks = source_blocks(kind)
    out = []
    for i in range(count):
        block = blocks[i % len(blocks)]
        fresh = 30000000 + i
        if kind == "medline":
            block = re.sub(r"^PMID- \d+", f"PMID- {fresh}", block, count=1, flags=re.M)
            block = re.sub(r"^TI  - ", f"TI  - [{fresh}] ", block, count=1, flags=re.M)
        else:
            block = re.sub(r"^DO  - .*$", "", block, flags=re.M)
            block = block.replace("TY  - JOUR", f"TY  - JOUR\nDO  - 10.5555/bench.{fresh}", 1)
            block = re.sub(r"^(TI|T1)  - ", rf"\1  - [{fresh}] ", block, count=1, flags=re.M)
        out.append(block)
    path = folder / (f"bench-{count}.nbib" if kind == "medline" else f"bench-{count}.ris")
    separator = "\n\n" if kind == "medline" else "\n\n"
    path.write_text(separator.join(out) + "\n", encoding="utf-8")
    return path


def raw_parse(kind: str, path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    if kind == "medline":
        return len(list(Medline.parse(io.StringIO(text))))
    return len(rispy.loads(text))


def screener_import(path: Path, folder: Path) -> int:
    review_dir = folder / "review"
    shutil.rmtree(review_dir, ignore_errors=True)
    review = Review(init_review(review_dir))
    result = review.import_file(path, "bench")
    return len(result.parsed.records)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in ("medline", "ris"):
            path = build_file(kind, args.records, folder)
            times: dict[str, list[float]] = {"raw": [], "screener": []}
            counts = {}
            for _ in range(args.rounds):
                for name in ("raw", "screener"):
                    start = time.perf_counter()
                    counts[name] = raw_parse(kind, path) if name == "raw" else screener_import(path, folder)
                    times[name].append(time.perf_counter() - start)
            if counts["raw"] != counts["screener"]:
                sys.exit(f"{kind}: raw parser read {counts['raw']} records, screener {counts['screener']}")
            raw, ours = statistics.median(times["raw"]), statistics.median(times["screener"])
            # The worst round beside the median: each round times both, one after the other.
            worst = max(o / r for o, r in zip(times["screener"], times["raw"], strict=True))
            rows.append(
                {
                    "format": kind,
                    "records": counts["raw"],
                    "file_mb": round(path.stat().st_size / 2**20, 1),
                    "raw_parser": "Bio.Medline.parse" if kind == "medline" else "rispy.loads",
                    "raw_seconds": round(raw, 2),
                    "screener_seconds": round(ours, 2),
                    "raw_records_per_s": round(counts["raw"] / raw),
                    "screener_records_per_s": round(counts["raw"] / ours),
                    "ratio": round(ours / raw, 2),
                    "worst_round_ratio": round(worst, 2),
                    "target_ratio": 1.5,
                    "rounds": args.rounds,
                }
            )
    partial = f"--records {args.records}, not {RECORDS:,}" if args.records != RECORDS else None
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        show(rows, args.rounds)
    write_results("import_bench", rows, partial=partial)


def show(rows: list[dict], rounds: int) -> None:
    print(f"Import throughput, median of {rounds} alternating rounds (target: ratio <= 1.5)")
    header = (
        f"{'format':8} {'records':>8} {'MB':>6} {'raw parser':18} {'raw s':>7} {'raw rec/s':>10} "
        f"{'screener s':>10} {'screener rec/s':>14} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['format']:8} {r['records']:>8} {r['file_mb']:>6} {r['raw_parser']:18} {r['raw_seconds']:>7} "
            f"{r['raw_records_per_s']:>10} {r['screener_seconds']:>10} {r['screener_records_per_s']:>14} "
            f"{r['ratio']:>6}{'  OK' if r['ratio'] <= 1.5 else '  OVER TARGET'}"
        )


if __name__ == "__main__":
    main()
