"""How screener's stopping rule was chosen (#16), replayed: a grid of the rule's settings on the
screener runs cached in benchmarks/out/runs/ (ranking_bench.py and ranking_variants.py write them,
with final and title/abstract labels), chosen on the Cohen 2006 sets and checked on the others.

The rule (stopping.RateRule) bounds the relevant records still unscreened by the `confidence`
quantile of a Poisson count whose mean is the largest of a fitted fading rate of discovery,
`floor` times what the slowest recent rate finds in the records left, and `recent` times what
the last quarter's rate (with `prior` records counted) finds there.
Each setting is replayed on every run (a check every 10 records from 100, as RateRule.stop does).
The choice: among the settings that reach 95 % recall in at least `--margin` (default: every one)
of the Cohen runs at each label level, the largest median work saved over both levels pooled,
ties to the larger mean. Then each dataset and level, worst first, for both settings.
It prints the chosen setting and stopping.DEFAULT_RULE (one and the same, unless the cached runs
changed), on the Cohen runs and on the others, beside buscar (bias 1, every 10 records, 95 %) on
the same runs; then checks that RateRule.stop, the code the screen runs, stops each run where this
replay does.

    python benchmarks/stopping_choice.py [--margin 1.0] [--jobs 2]

The per-run replay is cached in benchmarks/out/stopping/ (the fitted fade is the slow part).
DEFAULT_RULE was chosen on 488 Cohen runs: ranking_bench's (final labels: plain, with the question,
from the question alone; title/abstract labels: plain and with the question; seeds 0-2) and those
ranking_variants.py wrote for #16 (question fades 0, 1 and 20, title and abstract only; mostly
seed 0). A fresh clone caches only the runs it makes, so its replay may choose otherwise.

With the default --margin it records its figures in benchmarks/results/stopping_choice.json.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import poisson

from screener.ranking.stopping import (
    DEFAULT_RULE,
    QUARTER_PRIOR,
    buscar_stop,
    expected_left,
    last_quarter_rate,
    slowest_recent_rate,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranking_bench import REPO, is_development  # noqa: E402
from results_file import write_results  # noqa: E402
from screener_runs import labels_from_positions  # noqa: E402

RUNS = REPO / "benchmarks" / "out" / "runs"
CACHE = REPO / "benchmarks" / "out" / "stopping" / "replay.json"
PRIORS = (QUARTER_PRIOR, 0.25, 0.5, 1.0)
FLOORS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
RECENTS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0)
CONFIDENCES = (0.95, 0.975, 0.99)
TARGET = 0.95
MARGIN = 1.0  # every run: the held-out target allows about no failing review
# The grid varies the floors and the confidence; the rest is the rule's (and its fit: slowest decay
# 0, not from the knee).
FIRST, EVERY = DEFAULT_RULE.min_screened, DEFAULT_RULE.every


def cached_runs() -> list[dict]:
    runs = []
    for path in sorted(RUNS.glob("*/*/*/*.json")):
        run = json.loads(path.read_text())
        if "relevant_at" not in run or not run["relevant_at"]:
            continue
        level = path.parent.parent.name
        labels = labels_from_positions(run["relevant_at"], run["screened"])
        # The run's file and its order: a run simulated afresh under the same name is replayed afresh.
        key = f"{path.relative_to(RUNS)}:{hashlib.sha256(labels.tobytes()).hexdigest()[:16]}"
        runs.append({"key": key, "dataset": run["dataset"], "level": level, "labels": labels})
    return runs


def replay(labels: np.ndarray) -> dict:
    """Per check: records screened, found, the fitted fade's expectation, the slowest recent rate
    and the last quarter's rate for each prior; and where buscar stops."""
    n = len(labels)
    rows = []
    for k in range(max(FIRST, EVERY), n, EVERY):
        seen = labels[:k]
        found = int(seen.sum())
        fitted = expected_left(seen, n, DEFAULT_RULE.from_knee, DEFAULT_RULE.slack) if found else 0.0
        rates = [slowest_recent_rate(seen)] + [last_quarter_rate(seen, p) for p in PRIORS]
        rows.append([k, found, fitted] + [rate * (n - k) for rate in rates])
    return {"checks": rows, "buscar": buscar_stop(labels).stopped_at}


def stop_at(
    checks: np.ndarray, n: int, confidence: float, floor: float, recent: float, prior_index: int
) -> int:
    """Where RateRule(confidence=, floor=, recent=) stops a replayed run: the same test, every
    check at once."""
    if not len(checks):
        return n
    found = checks[:, 1]
    mean = np.maximum.reduce([checks[:, 2], floor * checks[:, 3], recent * checks[:, 4 + prior_index]])
    bound = np.where(mean > 0, poisson.ppf(confidence, mean), 0)
    says = np.flatnonzero((found > 0) & (found >= TARGET * (found + bound)))
    return int(checks[says[0], 0]) if len(says) else n


def outcome(runs: list[dict], stops: list[int]) -> tuple[float, float, float]:
    met = [r["labels"][:s].sum() / r["labels"].sum() >= TARGET for r, s in zip(runs, stops, strict=True)]
    saved = [1 - s / len(r["labels"]) for r, s in zip(runs, stops, strict=True)]
    return float(np.mean(met)), float(np.median(saved)), float(np.mean(saved))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--margin", type=float, default=MARGIN, help="runs that must reach 95%% recall")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    runs = cached_runs()
    if not runs:
        sys.exit(f"no cached runs in {RUNS}: run benchmarks/ranking_bench.py (--level final, --level ta)")
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    todo = [r for r in runs if r["key"] not in cache]
    if todo:
        print(f"replaying {len(todo)} runs (cached in {CACHE.relative_to(REPO)})...", file=sys.stderr)
        with ProcessPoolExecutor(args.jobs) as pool:
            replays = pool.map(replay, [r["labels"] for r in todo], chunksize=2)
            for run, replayed in zip(todo, replays, strict=True):
                cache[run["key"]] = replayed
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_text(json.dumps(cache))
    for run in runs:
        replayed = cache[run["key"]]
        run |= {"checks": np.array(replayed["checks"], dtype=float).reshape(-1, 4 + len(PRIORS))}
        run["buscar"] = replayed["buscar"]
    parts = {
        (chosen, level): [r for r in runs if is_development(r["dataset"]) == chosen and r["level"] == level]
        for chosen in (True, False)
        for level in ("final", "ta")
    }
    choosing = parts[(True, "final")] + parts[(True, "ta")]

    def stops(part: list[dict], setting: tuple[float, float, float, int]) -> list[int]:
        return [stop_at(r["checks"], len(r["labels"]), *setting) for r in part]

    candidates = []
    grid = itertools.product(CONFIDENCES, FLOORS, RECENTS, range(len(PRIORS)))
    for confidence, floor, recent, prior_index in grid:
        if recent == 0 and prior_index:
            continue  # the prior matters only with the last quarter's rate
        setting = (confidence, floor, recent, prior_index)
        levels_met = [
            outcome(part, stops(part, setting))[0] for part in (parts[(True, "final")], parts[(True, "ta")])
        ]
        _, median, mean = outcome(choosing, stops(choosing, setting))
        candidates.append((min(levels_met) >= args.margin, median, mean, setting))
    passing = sorted((c for c in candidates if c[0]), key=lambda c: (c[1], c[2]), reverse=True)
    print(
        f"{len(candidates)} settings; {len(passing)} reach 95% recall in >= {args.margin:.1%} "
        "of the Cohen runs at each level"
    )
    if not passing:
        return
    chosen = passing[0][3]
    current = (DEFAULT_RULE.confidence, DEFAULT_RULE.floor, DEFAULT_RULE.recent, PRIORS.index(QUARTER_PRIOR))

    def describe(setting: tuple[float, float, float, int]) -> str:
        return f"confidence {setting[0]}, floor {setting[1]}, recent {setting[2]}, prior {PRIORS[setting[3]]}"

    print(f"chosen: {describe(chosen)}; DEFAULT_RULE: {describe(current)}")
    for name, setting in (("chosen", chosen), ("DEFAULT_RULE", current)):
        met, median, mean = outcome(choosing, stops(choosing, setting))
        print(f"  {name}, Cohen runs pooled: median saved {median:.1%} (mean {mean:.1%})")
    print(f"{'runs':40} {'n':>4} {'met':>6} {'saved':>7} {'buscar':>7} {'ratio':>6}")
    table = []
    for (on_cohen, level), part in parts.items():
        if not part:
            continue
        buscar = float(np.median([1 - r["buscar"] / len(r["labels"]) for r in part]))
        for name, setting in (("chosen", chosen), ("DEFAULT_RULE", current)):
            met, median, _ = outcome(part, stops(part, setting))
            where = "Cohen (chosen on)" if on_cohen else "others (check)"
            ratio = median / buscar if buscar else float("inf")
            label = f"{where}, {level}, {name}"
            print(f"{label:40} {len(part):>4} {met:>6.1%} {median:>7.1%} {buscar:>7.1%} {ratio:>5.2f}x")
            table.append(
                {"datasets": where, "level": level, "rule": name, "runs": len(part)}
                | {"met": met, "median_saved": median, "buscar_median_saved": buscar, "ratio": ratio}
            )
    by_dataset = per_dataset(runs, {"chosen": chosen, "DEFAULT_RULE": current}, stops)
    print("\nPer dataset and level, worst first (lowest recall at the stop of either rule):")
    print(f"{'dataset':30} {'level':5} {'n':>3} {'rule':12} {'met':>5} {'worst':>6} ", end="")
    print(f"{'saved':>7} {'buscar':>7}")
    for row in by_dataset:
        for name in ("chosen", "DEFAULT_RULE"):
            rule = row[name]
            print(
                f"{row['dataset'][:30]:30} {row['level']:5} {row['runs']:>3} {name:12} {rule['met']:>5.0%} "
                f"{rule['worst_recall']:>6.1%} {rule['median_saved']:>7.1%} "
                f"{row['buscar_median_saved']:>7.1%}"
            )
    # The replay is the rule: RateRule.stop, which the screen runs, stops each run at the same record.
    with ProcessPoolExecutor(args.jobs) as pool:
        library = list(pool.map(_stop, [r["labels"] for r in runs], chunksize=4))
    replayed = [stop_at(r["checks"], len(r["labels"]), *current) for r in runs]
    same = sum(a == b for a, b in zip(library, replayed, strict=True))
    print(f"RateRule.stop agrees with the replay on {same} of {len(runs)} runs")
    figures = {
        "settings_tried": len(candidates),
        "settings_passing": len(passing),
        "chosen": describe(chosen),
        "default_rule": describe(current),
        "table": table,
        "by_dataset": by_dataset,
        "replay_agrees": same,
        "runs": len(runs),
    }
    write_results(
        "stopping_choice", figures, partial=f"--margin {args.margin}" if args.margin != MARGIN else None
    )


def per_dataset(runs: list[dict], rules: dict[str, tuple], stops) -> list[dict]:  # noqa: ANN001
    """Each dataset and label level: its runs, and for each rule the share reaching 95 % recall,
    the lowest recall at its stop and the median work saved; buscar's median saving beside.
    Worst first: the lowest recall either rule stops at."""
    rows = []
    for dataset, level in sorted({(r["dataset"], r["level"]) for r in runs}):
        part = [r for r in runs if r["dataset"] == dataset and r["level"] == level]
        row: dict = {"dataset": dataset, "level": level, "runs": len(part)}
        row["buscar_median_saved"] = float(np.median([1 - r["buscar"] / len(r["labels"]) for r in part]))
        for name, setting in rules.items():
            at = stops(part, setting)
            recalls = [r["labels"][:s].sum() / r["labels"].sum() for r, s in zip(part, at, strict=True)]
            met, median, _ = outcome(part, at)
            row[name] = {"met": met, "worst_recall": float(min(recalls)), "median_saved": median}
        rows.append(row)
    return sorted(rows, key=lambda row: min(row[name]["worst_recall"] for name in rules))


def _stop(labels: np.ndarray) -> int:
    return DEFAULT_RULE.stop(labels).stopped_at


if __name__ == "__main__":
    main()
