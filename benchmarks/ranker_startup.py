"""Start-up of the ranking at 20,000 records: the first start computes the feature matrix,
later starts load it from the cache (.screener/features in a review).

    python benchmarks/ranker_startup.py [--records 20000]

With the default --records it records its figures in benchmarks/results/ranker_startup.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from results_file import write_results
from screener.ranking import Ranker
from screener.ranking.datasets import load_labelled, texts_of

SCREENING = Path(__file__).resolve().parents[2] / "shared" / "data" / "screening"
RECORDS = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS)
    args = parser.parse_args()
    texts: list[str] = []
    for path in sorted(SCREENING.rglob("*.csv")):
        if "raw_triage" not in str(path):
            texts += texts_of(load_labelled(path, "final")[0])[:2000]
    big = [texts[k % len(texts)] + f" r{k}" for k in range(args.records)]
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        Ranker(big, cache_dir=Path(cache))
        cold = time.perf_counter() - start
        warm = []
        for _ in range(3):
            start = time.perf_counter()
            Ranker(big, cache_dir=Path(cache))
            warm.append(time.perf_counter() - start)
    later = statistics.median(warm)
    print(
        f"ranker start-up at {args.records:,} records: first {cold:.1f} s, later (cached) median "
        f"{later:.2f} s, {cold / later:.0f}x"
    )
    figures = {
        "records": args.records,
        "first_seconds": round(cold, 2),
        "later_median_seconds": round(later, 3),
        "later_worst_seconds": round(max(warm), 3),
        "later_starts": len(warm),
        "speed_up": round(cold / later, 1),
    }
    partial = f"--records {args.records}, not {RECORDS:,}" if args.records != RECORDS else None
    write_results("ranker_startup", figures, partial=partial)


if __name__ == "__main__":
    main()
