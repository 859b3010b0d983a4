"""Prioritised screening: screener's ranking against ASReview's default (elas_u4) and random
order, on every labelled dataset in ../shared/data/screening/, same priors, same metrics.

For each dataset and seed both tools replay the dataset from the priors of that seed
(screener.ranking.simulate.priors); WSS@95, RRF@10 and ATD come from the same function
(screener.ranking.metrics) applied to each tool's screening order. ASReview 3 runs in the
benchmark environment (.venv-bench). A third tool, "elas replica", is elas_u4 rebuilt from
screener's parts (ranking.TITLE_ABSTRACT_PARTNER): it should score as ASReview does, and where it
does, the differences between screener and ASReview are the models', not the harness's.
Also times one retrain-and-rerank step at 20,000 records.
Targets: mean WSS@95 at least 2 points above elas_u4 and no dataset more than 2 points below;
median step at 20,000 records at most 50 ms and at least 2x faster than ASReview's.

    python benchmarks/ranking_bench.py [--seeds 0,1,2,3,4] [--datasets ADHD,wilson] [--level final] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from screener.errors import ScreenerError
from screener.ranking import TITLE_ABSTRACT_PARTNER, Ranker, RankerConfig
from screener.ranking.datasets import load_labelled, texts_of
from screener.ranking.simulate import priors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screener_runs import metrics, screener_run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCREENING = REPO.parent / "shared" / "data" / "screening"


def asreview_order(records, labels, seed: int, python: str) -> tuple[list[int], float]:
    first, second = priors(labels, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        pd.DataFrame(
            {"title": [r.title for r in records], "abstract": [r.abstract for r in records], "label": labels}
        ).to_csv(path, index=False)
        out = subprocess.run(
            [python, str(REPO / "benchmarks" / "asreview_runner.py"), str(path), str(first), str(second)],
            capture_output=True,
            text=True,
            check=True,
        )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return answer["order"], answer["seconds_per_step"]


def without_priors(order: list[int], labels: np.ndarray, prior_rows: tuple[int, int]) -> np.ndarray:
    if sorted(order) != list(range(len(labels))):
        raise ValueError("an order must hold every record exactly once")
    return labels[[r for r in order if r not in prior_rows]]


def step_timing(texts: list[str], python: str | None, n: int = 20_000, steps: int = 30) -> dict[str, float]:
    """Median retrain-and-rerank step with ~200 labelled records among n."""
    big = [texts[k % len(texts)] + f" r{k}" for k in range(n)]
    rng = np.random.RandomState(0)
    labelled = rng.choice(n, size=200, replace=False)
    y = (rng.rand(200) < 0.2).astype(int)
    ranker = Ranker(big, RankerConfig())
    times = []
    unlabelled = np.setdiff1d(np.arange(n), labelled)
    for _ in range(steps):
        start = time.perf_counter()
        ranker.fit(labelled, y)
        ranker.next_order(unlabelled)
        times.append(time.perf_counter() - start)
    result = {"screener_ms": statistics.median(times) * 1000}
    # Models taking turns: each step retrains one of them (the first step, all). The slower
    # model's median step is what every other step costs.
    turns = len(ranker.models)
    result["slower_model_ms"] = max(statistics.median(times[1 + k :: turns]) for k in range(turns)) * 1000
    if python:
        code = (
            "import sys,time,json,numpy as np,pandas as pd\n"
            "from asreview.learner import ActiveLearningCycle\n"
            "from asreview.models.models import get_ai_config\n"
            "texts=json.load(open(sys.argv[1]))\n"
            "df=pd.DataFrame({'title':texts,'abstract':['']*len(texts)})\n"
            "c=ActiveLearningCycle.from_meta(get_ai_config('elas_u4')['value'])\n"
            "X=c.transform(df)\n"
            "rng=np.random.RandomState(0);lab=rng.choice(len(texts),200,replace=False);y=(rng.rand(200)<0.2).astype(int)\n"
            "ts=[]\n"
            "for _ in range(int(sys.argv[2])):\n"
            "  s=time.perf_counter();c.fit(X[lab],y);c.rank(X);ts.append(time.perf_counter()-s)\n"
            "print(json.dumps(sorted(ts)[len(ts)//2]))\n"
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "texts.json"
            path.write_text(json.dumps(big))
            out = subprocess.run([python, "-c", code, str(path), str(steps)], capture_output=True, text=True)
            if out.returncode == 0:
                result["asreview_ms"] = json.loads(out.stdout.strip().splitlines()[-1]) * 1000
            else:
                result["asreview_error"] = out.stderr.strip().splitlines()[-1][:200]
    return result


def load_level(path: Path, level: str) -> tuple[list, np.ndarray] | None:
    """The dataset's records and labels at this level, or None, saying why, when it has none."""
    try:
        return load_labelled(path, level)
    except ScreenerError as error:
        print(f"skipped {path.stem} at level {level}: {error}", file=sys.stderr)
        return None


CACHE = REPO / "benchmarks" / "out" / "ranking"
# The tools screener's own simulation runs: the default, and ASReview's model rebuilt.
SCREENER_TOOLS = {"screener": RankerConfig(), "elas replica": TITLE_ABSTRACT_PARTNER}


def run_one(path: Path, level: str, seed: int, tool: str, python: str | None, tag: str) -> dict:
    """One simulated run of one tool, cached on disk: screener's by its configuration
    (screener_runs.py), the others in benchmarks/out/ranking/ under `tag`."""
    if tool in SCREENER_TOOLS:
        return {**screener_run(path, level, seed, SCREENER_TOOLS[tool]), "tool": tool}
    cache = CACHE / tag / level / path.stem / f"{tool.split()[0]}-seed{seed}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    records, labels = load_labelled(path, level)
    first, second = priors(labels, seed)
    result: dict = {"dataset": path.stem, "tool": tool, "seed": seed}
    if tool == "random":
        rng = np.random.RandomState(seed)
        rest = rng.permutation([r for r in range(len(labels)) if r not in (first, second)])
        result.update(metrics(labels[rest]))
    else:
        order, per_step = asreview_order(records, labels, seed, python)
        result.update(metrics(without_priors(order, labels, (first, second))))
        result["seconds_per_step"] = per_step
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--datasets", default="", help="comma-separated name fragments (default: all)")
    parser.add_argument("--level", choices=["ta", "final"], default="final")
    parser.add_argument("--asreview-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    parser.add_argument(
        "--tag",
        default="",
        help="reuse runs cached under this name in benchmarks/out/ranking/ (default: no cache)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    python = args.asreview_python if Path(args.asreview_python).exists() else None
    seeds = [int(s) for s in args.seeds.split(",")]
    paths = sorted(p for p in SCREENING.rglob("*.csv") if "raw_triage" not in str(p))
    if args.datasets:
        paths = [p for p in paths if any(f.lower() in p.stem.lower() for f in args.datasets.split(","))]
    # Each dataset read once here: the table below needs its records and labels again.
    datasets = {p: loaded for p in paths if (loaded := load_level(p, args.level)) is not None}
    paths = list(datasets)
    tools = ["screener", "elas replica", "random"] + (["asreview elas_u4"] if python else [])
    tag = args.tag or f"run-{time.strftime('%Y%m%d-%H%M%S')}"
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(run_one, path, args.level, seed, tool, python, tag)
            for path in paths
            for seed in seeds
            for tool in tools
        ]
        results = []
        for future in futures:
            results.append(future.result())
            last = results[-1]
            print(
                f"  {last['dataset']} {last['tool']} seed {last['seed']}: WSS@95 {last['wss@95']:.1%}",
                file=sys.stderr,
            )
    rows = []
    stops = []
    all_texts: list[str] = []
    for path, (records, labels) in datasets.items():
        all_texts.extend(texts_of(records)[:2000])
        for tool in tools:
            mine = [r for r in results if r["dataset"] == path.stem and r["tool"] == tool]
            row = {"dataset": path.stem, "tool": tool, "records": len(labels), "relevant": int(labels.sum())}
            for key in ("wss@95", "rrf@10", "atd"):
                row[key] = round(float(np.mean([r[key] for r in mine])), 4)
            if "seconds_per_step" in mine[0]:
                row["seconds_per_step"] = round(float(np.median([r["seconds_per_step"] for r in mine])), 4)
            rows.append(row)
            if tool == "screener":
                stops += [dict(r["stop"], dataset=path.stem, seed=r["seed"]) for r in mine]
    # Three rounds, ours then theirs each time: the machine is shared, so medians and ratios.
    rounds = [step_timing(all_texts or ["empty"], python) for _ in range(3)]
    timing = {key: statistics.median(r[key] for r in rounds) for key in ("screener_ms", "slower_model_ms")}
    if all("asreview_ms" in r for r in rounds):
        timing["asreview_ms"] = statistics.median(r["asreview_ms"] for r in rounds)
        timing["ratios"] = [round(r["asreview_ms"] / r["screener_ms"], 2) for r in rounds]
    elif rounds and "asreview_error" in rounds[0]:
        timing["asreview_error"] = rounds[0]["asreview_error"]
    if args.json:
        print(json.dumps({"rows": rows, "stopping": stops, "step_at_20000": timing}, indent=2))
        return
    print(
        f"Prioritised screening, {args.level} labels, seeds {args.seeds}: mean over seeds (priors excluded)"
    )
    header = (
        f"{'dataset':28} {'tool':17} {'records':>7} {'rel':>4} {'WSS@95':>7} {'RRF@10':>7} {'ATD':>6} "
        f"{'s/step':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['dataset'][:28]:28} {r['tool']:17} {r['records']:>7} {r['relevant']:>4} {r['wss@95']:>7.1%} "
            f"{r['rrf@10']:>7.1%} {r['atd']:>6.1%} {r.get('seconds_per_step', float('nan')):>7.4f}"
        )
    by_tool: dict[str, list[float]] = {}
    for r in rows:
        by_tool.setdefault(r["tool"], []).append(r["wss@95"])
    print()
    for tool, values in by_tool.items():
        print(f"mean WSS@95 {tool:17} {np.mean(values):.1%}")
    if "asreview elas_u4" in by_tool:
        ours = {r["dataset"]: r["wss@95"] for r in rows if r["tool"] == "screener"}
        theirs = {r["dataset"]: r["wss@95"] for r in rows if r["tool"] == "asreview elas_u4"}
        gain = (np.mean(list(ours.values())) - np.mean(list(theirs.values()))) * 100
        worst = min((ours[d] - theirs[d]) * 100 for d in ours)
        print(
            f"WSS@95 vs elas_u4: {gain:+.1f} points on average (target >= +2), worst dataset {worst:+.1f} "
            f"(target >= -2)"
        )
        replica = {r["dataset"]: r["wss@95"] for r in rows if r["tool"] == "elas replica"}
        apart = max(abs(replica[d] - theirs[d]) * 100 for d in replica)
        print(f"harness check: elas replica vs elas_u4, largest difference on a dataset {apart:.1f} points")
        relevant = {r["dataset"]: r["relevant"] for r in rows}
        print("WSS@95 points vs elas_u4 by dataset, worst first (relevant records in brackets):")
        by_gap = sorted(ours, key=lambda d: ours[d] - theirs[d])
        cells = [f"{d[:16]} ({relevant[d]}) {(ours[d] - theirs[d]) * 100:+.1f}" for d in by_gap]
        print("  " + ", ".join(cells))
    if stops:
        met = np.mean([s["recall"] >= s["target"] for s in stops])
        print(
            f"stopping rule (target recall 95%, alpha 0.05): met in {met:.1%} of {len(stops)} runs "
            f"(target >= 95%); median recall at the stop {np.median([s['recall'] for s in stops]):.1%}, "
            f"median work saved {np.median([s['work_saved'] for s in stops]):.1%}"
        )
    print(
        f"step at 20,000 records: screener {timing['screener_ms']:.1f} ms "
        f"(the slower of its models' steps {timing['slower_model_ms']:.1f} ms)"
        + (
            f", ASReview {timing['asreview_ms']:.1f} ms (medians of 3 rounds; ASReview/screener "
            f"per round {timing['ratios']}, target >= 2)"
            if "asreview_ms" in timing
            else f" (ASReview: {timing.get('asreview_error', 'not run')})"
        )
    )


if __name__ == "__main__":
    main()
