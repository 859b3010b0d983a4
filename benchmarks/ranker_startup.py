"""Start-up of the ranking at 20,000 records: the first start computes the feature matrix,
later starts load it from the cache (.screener/features in a review).

    python benchmarks/ranker_startup.py [--records 20000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from screener.ranking import Ranker
from screener.ranking.datasets import load_labelled, texts_of

SCREENING = Path(__file__).resolve().parents[2] / "shared" / "data" / "screening"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000)
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
    print(
        f"ranker start-up at {args.records:,} records: first {cold:.1f} s, later (cached) median "
        f"{statistics.median(warm):.2f} s, {cold / statistics.median(warm):.0f}x"
    )


if __name__ == "__main__":
    main()
