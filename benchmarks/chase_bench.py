"""Citation searching speed against OpenAlex's rate limit, on a local OpenAlex-format server.

100 seeds with 40 references each (by default) are chased backward through OpenAlex
(`screener.chase`, the client in `screener.net`) against tests/openalex_server.py, which
enforces OpenAlex's documented limit of 100 requests a second with 429s, as the service does.
The floor is the time that limit allows for the requests made (requests / 100 per second);
the fewest requests any client could make is one look-up per seed plus one per 50 references
(OpenAlex's OR filter takes at most 50 ids). Target: within 1.1x of the floor, no 429.

    python benchmarks/chase_bench.py [--seeds 100] [--refs 40] [--rate 100] [--rounds 3]

With the default --seeds, --refs and --rate it records its figures in
benchmarks/results/chase_bench.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.openalex_server import CitationServer, Graph, Work  # noqa: E402

from results_file import write_results  # noqa: E402
from screener.chase import chase  # noqa: E402
from screener.chase.model import Seed  # noqa: E402
from screener.chase.openalex import SERVICE, OpenAlexSource  # noqa: E402
from screener.net import JsonClient, NetSettings  # noqa: E402

SEEDS, REFS = 100, 40


def build(seeds: int, refs: int) -> Graph:
    works = []
    for s in range(seeds):
        ids = [f"W{1_000_000 + s * refs + k}" for k in range(refs)]
        works.append(Work(f"W{s + 1}", f"Seed {s}", doi=f"10.9999/seed.{s}", refs=ids))
        works += [Work(w, f"Reference {w}", doi=f"10.9999/{w.lower()}") for w in ids]
    return Graph(works)


def serve(seeds: int, refs: int, rate: int, ready: Any) -> None:
    """The server, in a process of its own: as a real service, it does not share our GIL."""
    graph = build(seeds, refs)
    graph.rate = rate
    with CitationServer(graph) as server:
        ready.put(server.openalex_url)
        while True:
            time.sleep(3600)


def one_round(seeds: int, refs: int, rate: int) -> dict[str, float]:
    ready: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(seeds, refs, rate, ready), daemon=True)
    process.start()
    try:
        url = ready.get(timeout=120)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["SCREENER_CACHE_DIR"] = tmp
            client = JsonClient(
                SERVICE, NetSettings(), environ={"SCREENER_OPENALEX_URL": url}, per_second=rate
            )
            chosen = [Seed(f"doi:10.9999/seed.{s}", doi=f"10.9999/seed.{s}") for s in range(seeds)]
            start = time.perf_counter()
            result = chase(chosen, [OpenAlexSource(client)], ["backward"])
            wall = time.perf_counter() - start
            client.close()
        with urllib.request.urlopen(url.replace("openalex/", "__stats")) as answer:
            stats = json.load(answer)
    finally:
        process.terminate()
        process.join()
    if len(result.found) != seeds * refs:
        sys.exit(f"found {len(result.found)} works, expected {seeds * refs}")
    requests = stats["requests"]
    floor = requests / rate
    return {
        "works": len(result.found),
        "requests": requests,
        "fewest_possible": seeds + -(-seeds * refs // 50),
        "rate_limited_429": stats["rate_limited"],
        "seconds": round(wall, 3),
        "floor_seconds": round(floor, 3),
        "ratio": round(wall / floor, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--refs", type=int, default=REFS)
    parser.add_argument("--rate", type=int, default=SERVICE.per_second)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs = [one_round(args.seeds, args.refs, args.rate) for _ in range(args.rounds)]
    summary = {
        "seeds": args.seeds,
        "references_each": args.refs,
        "rate_per_second": args.rate,
        "runs": runs,
        "median_ratio": statistics.median(r["ratio"] for r in runs),
        "worst_ratio": max(r["ratio"] for r in runs),
        "target_ratio": 1.1,
    }
    print(json.dumps(summary, indent=2))
    defaults = (SEEDS, REFS, SERVICE.per_second)
    partial = None
    if (args.seeds, args.refs, args.rate) != defaults:
        partial = f"--seeds {args.seeds} --refs {args.refs} --rate {args.rate}, not {defaults}"
    write_results("chase_bench", summary, partial=partial)
    if summary["median_ratio"] > 1.1 or any(r["rate_limited_429"] for r in runs):
        sys.exit("chase_bench: slower than 1.1x the rate-limit floor, or rate limited")


if __name__ == "__main__":
    main()
