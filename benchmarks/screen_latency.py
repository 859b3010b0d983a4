"""Keystroke-to-next-record latency of `screener screen`, measured through a real pty.

Builds a review of N records (default 20,000: a MEDLINE export made from real records with
fresh PMIDs), starts `screener screen` in a pseudo-terminal, then for K keystrokes sends a
decision key and times until the next record's id line is on screen. Prints median, p95 and
max (target: median at most 100 ms). Decisions are fsynced before the next record is drawn,
so the time includes the write; in ranked order (the default) it also includes retraining the
model on the reviewer's decisions and re-ranking every remaining record.

    python benchmarks/screen_latency.py [--records 20000] [--keys 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_bench import build_file  # noqa: E402
from screener.review import Review, Reviewer, init_review  # noqa: E402
from screener.screening import load_stage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--order", choices=["ranked", "file"], default="ranked")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export = build_file("medline", args.records, folder)
        review = Review(init_review(folder / "review", reviewers=[Reviewer("alice"), Reviewer("bob")]))
        review.import_file(export, "medline", database="MEDLINE")
        start = time.perf_counter()
        order = [r.id for r in load_stage(review, "title-abstract").records]
        prepare = time.perf_counter() - start
        env = dict(os.environ, COLUMNS="120", LINES="50", TERM="xterm")
        child = pexpect.spawn(
            sys.executable,
            ["-m", "screener", "screen", "--reviewer", "alice", "--order", args.order],
            cwd=str(review.root),
            env=env,
            encoding="utf-8",
            timeout=120,
        )
        start = time.perf_counter()
        child.expect(r"· (pmid:\d+)")
        shown = [child.match.group(1)]
        startup = time.perf_counter() - start
        child.expect("quit")
        latencies = []
        keys = "ie"
        for k in range(min(args.keys, len(order) - 1)):
            sent = time.perf_counter()
            child.send(keys[k % 2])
            child.expect(r"· (pmid:\d+)")  # the next record's id line is on screen
            latencies.append((time.perf_counter() - sent) * 1000)
            shown.append(child.match.group(1))
            child.expect("quit")  # the rest of the screen, before the next key
        if len(set(shown)) != len(shown):
            sys.exit("a record was shown twice: the screen did not advance")
        child.send("q")
        child.expect(pexpect.EOF)
        saved = len(re.findall(r"\n", (review.labels_dir / "title-abstract" / "alice.csv").read_text())) - 1
    latencies.sort()
    result = {
        "records": args.records,
        "keystrokes": len(latencies),
        "decisions_saved": saved,
        "median_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "max_ms": round(latencies[-1], 1),
        "startup_seconds": round(startup, 1),
        "prepare_seconds_in_process": round(prepare, 1),
        "order": args.order,
        "target_median_ms": 100,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"screener screen on {args.records} records, {len(latencies)} keystrokes through a pty "
        "(target: median <= 100 ms)"
    )
    print(f"{'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'saved':>6} {'startup s':>10}")
    print(
        f"{result['median_ms']:>10} {result['p95_ms']:>8} {result['max_ms']:>8} {saved:>6} "
        f"{result['startup_seconds']:>10}"
        f"{'  OK' if result['median_ms'] <= 100 else '  OVER TARGET'}"
    )


if __name__ == "__main__":
    main()
