"""Prioritised screening: screener's ranking against ASReview's default (elas_u4) and random
order, on every labelled dataset in ../shared/data/screening/, same priors, same metrics.

For each dataset and seed both tools replay the dataset from the priors of that seed
(screener.ranking.simulate.priors); WSS@95, RRF@10 and ATD come from the same function
(screener.ranking.metrics) applied to each tool's screening order. ASReview 3 runs in the
benchmark environment (.venv-bench). Also times one retrain-and-rerank step at 20,000 records.
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

from screener.ranking import Ranker, RankerConfig
from screener.ranking.datasets import load_labelled, texts_of
from screener.ranking.metrics import atd, rrf, wss
from screener.ranking.simulate import priors, simulate

REPO = Path(__file__).resolve().parents[1]
SCREENING = REPO.parent / "shared" / "data" / "screening"


def metrics(order_labels: np.ndarray) -> dict[str, float]:
    return {"wss@95": wss(order_labels, 0.95), "rrf@10": rrf(order_labels, 10), "atd": atd(order_labels)}


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--datasets", default="", help="comma-separated name fragments (default: all)")
    parser.add_argument("--level", choices=["ta", "final"], default="final")
    parser.add_argument("--asreview-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    python = args.asreview_python if Path(args.asreview_python).exists() else None
    seeds = [int(s) for s in args.seeds.split(",")]
    paths = sorted(p for p in SCREENING.rglob("*.csv") if "raw_triage" not in str(p))
    if args.datasets:
        paths = [p for p in paths if any(f.lower() in p.stem.lower() for f in args.datasets.split(","))]
    rows = []
    all_texts: list[str] = []
    for path in paths:
        records, labels = load_labelled(path, args.level)
        texts = texts_of(records)
        all_texts.extend(texts[:2000])
        per_tool: dict[str, list[dict[str, float]]] = {"screener": [], "asreview elas_u4": [], "random": []}
        step_times: dict[str, list[float]] = {"screener": [], "asreview elas_u4": []}
        for seed in seeds:
            run = simulate(texts, labels, seed)
            per_tool["screener"].append(metrics(run.screened_labels()))
            step_times["screener"].append(statistics.median(run.step_seconds))
            rng = np.random.RandomState(seed)
            rest = rng.permutation([r for r in range(len(labels)) if r not in run.prior_rows])
            per_tool["random"].append(metrics(labels[rest]))
            if python:
                order, per_step = asreview_order(records, labels, seed, python)
                per_tool["asreview elas_u4"].append(metrics(without_priors(order, labels, run.prior_rows)))
                step_times["asreview elas_u4"].append(per_step)
        for tool, results in per_tool.items():
            if not results:
                continue
            row = {"dataset": path.stem, "tool": tool, "records": len(labels), "relevant": int(labels.sum())}
            for key in ("wss@95", "rrf@10", "atd"):
                row[key] = round(float(np.mean([r[key] for r in results])), 4)
            if tool in step_times and step_times[tool]:
                row["seconds_per_step"] = round(float(np.median(step_times[tool])), 4)
            rows.append(row)
        print(f"done {path.stem}", file=sys.stderr)
    timing = step_timing(all_texts or ["empty"], python)
    if args.json:
        print(json.dumps({"rows": rows, "step_at_20000": timing}, indent=2))
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
    print(
        f"step at 20,000 records: screener {timing['screener_ms']:.1f} ms"
        + (
            f", ASReview {timing['asreview_ms']:.1f} ms"
            if "asreview_ms" in timing
            else f" (ASReview: {timing.get('asreview_error', 'not run')})"
        )
    )


if __name__ == "__main__":
    main()
