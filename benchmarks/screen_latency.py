"""What a person waits for in `screener screen`, measured through a real pty: the start (until the
first record's id is on screen) and each keystroke (from the key to the next record's id).

Builds a review of N records (default 20,000: a MEDLINE export made from real records with fresh
PMIDs), or takes one with --review. Then, as a reviewer would meet it:
  prepare       `screener dedup` and `screener rank` once, so the parse, dedup and feature caches
                exist (what an earlier command leaves), timed but not a target
  first start   the first `screener screen` of the reviewer: the studies as `dedup` left them,
                the screen's own cache (its saved order) emptied (target: under 5 s)
  keystrokes    K decisions in that session, while the model retrains in the background after each
                one (target: median under 50 ms); pexpect's own 50 ms `delaybeforesend` is off,
                so the time is screener's
  later start   quit and start again (target: under 1 s)
  merging start the studies' cache emptied too: the screen merges every record into its study
                itself (after an import or a dedup decision with no `dedup` since), no target
Each decision is fsynced before the next record is drawn, so a keystroke's time includes the write.
Python's bytecode is cached as an installed screener has it, even where PYTHONDONTWRITEBYTECODE is
set: screener's package is compiled in place first (what installing it does), and the child reads
the compiled files beside every module, as Python and pip leave them. (With a cache folder of the
run, PYTHONPYCACHEPREFIX, as before, Python looks nowhere else: the first start compiled each
module of the standard library, rich, numpy... that the screen imports and `dedup` had not.)
Besides the wall time, the start's CPU time is printed: on a busy machine it is the
figure that does not depend on the neighbours.

    python benchmarks/screen_latency.py [--records 20000] [--keys 200] [--order ranked] [--json]
    nice -n 10 python benchmarks/screen_latency.py --review /tmp/big-review   # reuse a review

On its generated review of the default size it records its figures in
benchmarks/results/screen_latency.json (screen_latency-file-order.json with --order file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_bench import build_file  # noqa: E402
from results_file import write_results  # noqa: E402
from screener.review import Review, Reviewer, init_review  # noqa: E402

ID_LINE = r"· (pmid:\d+)"
TARGETS = {"first_start_s": 5.0, "later_start_s": 1.0, "median_ms": 50.0}
RECORDS = 20_000


def child_env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm")
    for name in ("DISPLAY", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    return env


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn(review: Path, order: str) -> pexpect.spawn:
    env = child_env()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "screener", "screen", "--reviewer", "alice", "--order", order],
        cwd=str(review),
        env=env,
        encoding="utf-8",
        timeout=300,
        dimensions=(40, 120),
    )
    child.delaybeforesend = None  # else every send sleeps 50 ms first, and that is what gets timed
    return child


def start(review: Path, order: str) -> tuple[pexpect.spawn, float, float, str]:
    """A screen session, the seconds (wall, CPU) until the first record's id is on screen, and
    that id."""
    began = time.perf_counter()
    child = spawn(review, order)
    child.expect(ID_LINE)
    seconds = time.perf_counter() - began
    cpu = cpu_seconds(child.pid)
    shown = child.match.group(1)
    child.expect("quit")  # the rest of the drawing
    return child, seconds, cpu, shown


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--order", choices=["ranked", "file"], default="ranked")
    parser.add_argument("--review", type=Path, help="an existing review (alice screens it; her decisions go)")
    parser.add_argument(
        "--meaning",
        choices=["off", "turns"],
        default="off",
        help="[ranking] meaning: turns adds the model of pretrained embeddings (wordllama)",
    )
    parser.add_argument(
        "--cold-features",
        action="store_true",
        help="empty the feature cache too before the first start: the ranking's matrices and the "
        "embeddings are then computed in the background while the keys are timed",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.review:
            root = args.review.resolve()
            review = Review(root)
        else:
            folder = Path(tmp)
            export = build_file("medline", args.records, folder)
            review = Review(init_review(folder / "review", reviewers=[Reviewer("alice"), Reviewer("bob")]))
            review.import_file(export, "medline", database="MEDLINE")
            root = review.root
        if args.meaning != "off":
            config = root / "review.toml"
            if "[ranking]" in config.read_text():
                sys.exit("--meaning: the review has a [ranking] table already; set meaning there")
            with config.open("a") as handle:
                handle.write(f'\n[ranking]\nmeaning = "{args.meaning}"\n')
        labels = review.labels_dir / "title-abstract" / "alice.csv"
        labels.unlink(missing_ok=True)  # alice starts afresh
        began = time.perf_counter()
        package = Path(__import__("screener").__file__).parent
        for command in (
            ["-m", "compileall", "-q", str(package)],  # what installing it does
            ["-m", "screener", "dedup"],
            ["-m", "screener", "rank", "--reviewer", "alice", "--top", "1"],
        ):
            # An installed screener's folder may not be writable: it is compiled already.
            check = command[1] != "compileall"
            env = child_env()
            subprocess.run([sys.executable, *command], cwd=root, check=check, capture_output=True, env=env)
        prepare = time.perf_counter() - began
        derived_caches = ["screen-order"] + (["features"] if args.cold_features else [])
        for derived in derived_caches:  # what the screen itself caches: a first start has none
            shutil.rmtree(review.cache_dir / derived, ignore_errors=True)

        child, first_start, first_cpu, first = start(root, args.order)
        shown = [first]
        latencies = []
        keys = "ie"
        for k in range(args.keys):
            sent = time.perf_counter()
            child.send(keys[k % 2])
            child.expect(ID_LINE)  # the next record's id line is on screen
            latencies.append((time.perf_counter() - sent) * 1000)
            shown.append(child.match.group(1))
            child.expect("quit")  # the rest of the screen, before the next key
        if len(set(shown)) != len(shown):
            sys.exit("a record was shown twice: the screen did not advance")
        child.send("q")
        child.expect(pexpect.EOF)
        saved = len(labels.read_text().splitlines()) - 1

        child, later_start, later_cpu, again = start(root, args.order)
        child.send("q")
        child.expect(pexpect.EOF)
        if again in shown[:-1]:
            sys.exit(f"the later start showed {again}, already decided")

        for derived in ("studies", "screen-order"):
            shutil.rmtree(review.cache_dir / derived, ignore_errors=True)
        child, merging_start, merging_cpu, _ = start(root, args.order)
        child.send("q")
        child.expect(pexpect.EOF)
        count = len(Review(root).records())
    latencies.sort()
    result = {
        "records": count,
        "order": args.order,
        "meaning": args.meaning,
        "cold_features": args.cold_features,
        "keystrokes": len(latencies),
        "decisions_saved": saved,
        "median_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        "max_ms": round(latencies[-1], 1),
        "first_start_s": round(first_start, 2),
        "later_start_s": round(later_start, 2),
        "first_start_cpu_s": round(first_cpu, 2),
        "later_start_cpu_s": round(later_cpu, 2),
        "merging_start_s": round(merging_start, 2),
        "merging_start_cpu_s": round(merging_cpu, 2),
        "prepare_s": round(prepare, 1),
        "targets": TARGETS,
    }
    result["ok"] = all(result[k] < v for k, v in TARGETS.items())
    if args.review:
        partial = f"on {args.review}, not the generated review"
    elif args.records != RECORDS:
        partial = f"--records {args.records}, not {RECORDS:,}"
    elif args.meaning != "off" or args.cold_features:
        partial = "with --meaning or --cold-features, not the default configuration"
    else:
        partial = None
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)
    write_results(
        "screen_latency", result, partial=partial, variant="" if args.order == "ranked" else "file-order"
    )


def show(result: dict) -> None:
    count, saved = result["records"], result["decisions_saved"]
    print(
        f"screener screen on {count} records ({result['order']} order), {result['keystrokes']} keystrokes "
        f"through a pty; dedup and rank run first ({result['prepare_s']} s)"
    )
    print(f"{'':<22}{'ours':>10}{'target':>10}")
    rows = [
        ("first start (s)", result["first_start_s"], f"< {TARGETS['first_start_s']}"),
        ("later start (s)", result["later_start_s"], f"< {TARGETS['later_start_s']}"),
        ("first start CPU (s)", result["first_start_cpu_s"], ""),
        ("later start CPU (s)", result["later_start_cpu_s"], ""),
        ("merging start (s)", result["merging_start_s"], ""),
        ("merging start CPU (s)", result["merging_start_cpu_s"], ""),
        ("keystroke median (ms)", result["median_ms"], f"< {TARGETS['median_ms']}"),
        ("keystroke p95 (ms)", result["p95_ms"], ""),
        ("keystroke max (ms)", result["max_ms"], ""),
    ]
    for name, ours, target in rows:
        print(f"{name:<22}{ours:>10}{target:>10}")
    print(f"decisions saved: {saved}; {'all targets met' if result['ok'] else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
