"""PubMed search speed against NCBI's rate limit, on a local E-utilities server.

The server (tests/eutils_server.py, real HTTP on 127.0.0.1) adds a fixed latency to every
request. A search of N records (default 20,000, so date slicing is needed) runs through
`PubmedSearch`; the floor is the time NCBI's rate limit allows for the requests it needed
(requests / 3 per second without an API key, / 10 with one). Target: at most 1.2x that floor.

    python benchmarks/entrez_bench.py [--records 20000] [--latency 0.1] [--rounds 3] [--api-key]

With the default --records and --latency it records its figures in
benchmarks/results/entrez_bench.json (entrez_bench-api-key.json with --api-key).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.eutils_server import EutilsServer, FakePubmed, generate_records  # noqa: E402

from results_file import write_results  # noqa: E402
from screener.review import Review, init_review  # noqa: E402
from screener.search import EntrezSettings, PubmedSearch  # noqa: E402

RECORDS, LATENCY = 20_000, 0.1


def one_round(records: int, latency: float, api_key: str) -> dict[str, float]:
    fake = FakePubmed(generate_records(records, days=6000), latency=latency)
    with tempfile.TemporaryDirectory() as tmp, EutilsServer(fake) as server:
        review = Review(init_review(Path(tmp) / "review"))
        settings = EntrezSettings(email="bench@example.org", api_key=api_key, base_url=server.base_url)
        start = time.perf_counter()
        result = PubmedSearch(review, "bench", "liver", settings=settings).run()
        wall = time.perf_counter() - start
        stored = len(review.records("bench"))
    if stored != records:
        sys.exit(f"stored {stored} records, expected {records}")
    requests = len(fake.requests())
    floor = requests / settings.requests_per_second
    # The fewest requests any client could make: one count, one ESearch per 9,999-record
    # slice, one EFetch per 500 records.
    minimum = 1 + -(-records // 9999) + -(-records // 500)
    return {
        "records": result.fetched,
        "requests": requests,
        "esearch": len(fake.requests("esearch")),
        "efetch": len(fake.requests("efetch")),
        "wall_seconds": wall,
        "rate_limit_floor_seconds": floor,
        "ratio": wall / floor,
        "minimum_requests": minimum,
        "ratio_to_minimum": wall / (minimum / settings.requests_per_second),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds added to every request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--api-key", action="store_true", help="run as if with an API key (10/s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rounds = [
        one_round(args.records, args.latency, "bench-key" if args.api_key else "") for _ in range(args.rounds)
    ]
    summary = {
        key: statistics.median(r[key] for r in rounds)
        for key in (
            "records",
            "requests",
            "esearch",
            "efetch",
            "wall_seconds",
            "rate_limit_floor_seconds",
            "ratio",
            "minimum_requests",
            "ratio_to_minimum",
        )
    }
    summary.update(latency=args.latency, rounds=args.rounds, api_key=args.api_key, target_ratio=1.2)
    summary["worst_ratio"] = max(r["ratio"] for r in rounds)
    partial = None
    if (args.records, args.latency) != (RECORDS, LATENCY):
        partial = f"--records {args.records} --latency {args.latency}, not {RECORDS} and {LATENCY}"
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        show(summary, args)
    write_results("entrez_bench", summary, partial=partial, variant="api-key" if args.api_key else "")


def show(summary: dict, args: argparse.Namespace) -> None:
    rate = 10 if args.api_key else 3
    print(
        f"PubMed search through Entrez, local server with {args.latency * 1000:.0f} ms latency per request, "
        f"{rate} requests/s allowed, median of {args.rounds} rounds (target: ratio <= 1.2)"
    )
    header = (
        f"{'records':>8} {'requests':>9} {'esearch':>8} {'efetch':>7} {'wall s':>8} {'floor s':>8}"
        f" {'ratio':>6} {'min requests':>12} {'ratio to min':>12}"
    )
    print(header)
    print("-" * len(header))
    s = summary
    print(
        f"{s['records']:>8.0f} {s['requests']:>9.0f} {s['esearch']:>8.0f} {s['efetch']:>7.0f} "
        f"{s['wall_seconds']:>8.2f} {s['rate_limit_floor_seconds']:>8.2f} {s['ratio']:>6.2f}"
        f" {s['minimum_requests']:>12.0f} {s['ratio_to_minimum']:>12.2f}"
        f"{'  OK' if s['ratio'] <= 1.2 else '  OVER TARGET'}"
    )
    print(
        "floor = requests made / allowed rate; 'ratio to min' uses the fewest requests any client could make"
    )


if __name__ == "__main__":
    main()
