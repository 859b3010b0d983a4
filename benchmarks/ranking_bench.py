"""Prioritised screening: screener's ranking, with and without the review question, against
ASReview's default (elas_u4) and random order, on every labelled dataset in ../shared/data/screening/,
same priors, same metrics; and screener's stopping rule against buscar and the oracle on the same runs.

For each dataset and seed the tools replay the dataset from the priors of that seed
(screener.ranking.simulate.priors: one relevant and one irrelevant record); WSS@95, RRF@10, ATD and loss
come from the same function (screener.ranking.metrics) applied to each tool's screening order,
priors left out. The tools:
  screener             the default ranking, no question (1+1 priors)
  screener + question  the default ranking with the dataset's question (benchmarks/questions.toml)
  question alone       no priors at all (--priors 0,0): the question ranks the first records;
                       metrics cover every record
  elas replica         elas_u4 rebuilt from screener's parts (--tools to add it): where it scores as
                       ASReview does, differences are the models', not the harness's
  tiab, tiab + question
                       the default (and with the question) reading title and abstract only, as
                       on reviews without keywords or MeSH (--tools to add them)
  random, asreview elas_u4 (ASReview 3 in .venv-bench)
Questions were written from each dataset's PROVENANCE.md before any run (see questions.toml).

Stopping: on every screener run, where screener's rule (stopping.DEFAULT_RULE), buscar (Callaghan &
Müller-Hansen 2020: bias 1, every 10 records, 95 % confidence) and the oracle (stop exactly at 95 %
recall) stop; the share of runs reaching 95 % recall and the median work saved. The rule's settings
were chosen on the Cohen 2006 sets with final and title/abstract labels; the other datasets check
them (run both levels: --level final, --level ta).
Also times one retrain-and-rerank step at 20,000 records.
Targets: with the question, mean WSS@95 at least 2 points above elas_u4 and no dataset more than 2
points below; from the question alone at least elas_u4; the stopping rule reaches 95 % recall in at
least 95 % of runs with a median saving at least twice buscar's; the step at 20,000 records at most
50 ms and at least 2x faster than ASReview's.

    python benchmarks/ranking_bench.py [--seeds 0,1,2] [--datasets ADHD,wilson] [--level final] [--json]

Run on every dataset with the default seeds and tools (the peer included; at --level final with
the step timing) it records its figures in benchmarks/results/ranking_bench-<level>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from screener.errors import ScreenerError
from screener.ranking import TITLE_ABSTRACT_PARTNER, Ranker, RankerConfig
from screener.ranking.datasets import load_labelled, texts_of
from screener.ranking.simulate import priors
from screener.ranking.stopping import DEFAULT_RULE, buscar_stop, oracle_stop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_results  # noqa: E402
from screener_runs import labels_from_positions, metrics, screener_run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCREENING = REPO.parent / "shared" / "data" / "screening"
QUESTIONS = Path(__file__).resolve().parent / "questions.toml"


def questions() -> dict[str, str]:
    """The question of each dataset, by file stem (written before any run, never edited after)."""
    return tomllib.loads(QUESTIONS.read_text())["questions"]


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
    # With a question, as a review that states one ranks (the question is one more training row).
    ranker = Ranker(
        big, RankerConfig(), question="Drug treatment of adults with chronic disease: effects and harms"
    )
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
# The tools screener's own simulation runs: (configuration, with the question, priors).
TIAB = RankerConfig(feature_options={"index_terms": "ignore"})
SCREENER_TOOLS = {
    "screener": (RankerConfig(), False, (1, 1)),
    "screener + question": (RankerConfig(), True, (1, 1)),
    "question alone": (RankerConfig(), True, (0, 0)),
    "elas replica": (TITLE_ABSTRACT_PARTNER, False, (1, 1)),
    # The default reading title and abstract only (keywords and MeSH ignored), as on reviews
    # whose records carry none: the condition of the reviews held out from us.
    "tiab": (TIAB, False, (1, 1)),
    "tiab + question": (TIAB, True, (1, 1)),
}
ASREVIEW = "asreview elas_u4"
DEFAULT_TOOLS = ["screener", "screener + question", "question alone", "random", ASREVIEW]
SEEDS = "0,1,2"


def run_one(path: Path, level: str, seed: int, tool: str, python: str | None, tag: str) -> dict:
    """One simulated run of one tool, cached on disk: screener's by its configuration
    (screener_runs.py), the others in benchmarks/out/ranking/ under `tag`."""
    if tool in SCREENER_TOOLS:
        config, with_question, n_priors = SCREENER_TOOLS[tool]
        question = questions()[path.stem] if with_question else None
        return {**screener_run(path, level, seed, config, question, n_priors), "tool": tool}
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


def stopping_rows(results: list[dict]) -> list[dict]:
    """Where each rule stops each screener run: screener's, buscar's and the oracle's."""
    rows = []
    for r in results:
        if "relevant_at" not in r:
            continue
        labels = labels_from_positions(r["relevant_at"], r["screened"])
        for rule, stop in (
            ("screener", DEFAULT_RULE.stop(labels)),
            ("buscar", buscar_stop(labels)),
            ("oracle", oracle_stop(labels)),
        ):
            rows.append(
                {"dataset": r["dataset"], "tool": r["tool"], "seed": r["seed"], "rule": rule}
                | {"recall": stop.recall, "work_saved": stop.work_saved, "screened": stop.stopped_at}
            )
    return rows


def is_development(dataset: str) -> bool:
    """The datasets the stopping rule's settings were chosen on (the Cohen 2006 sets, both label levels)."""
    cohen = SCREENING / "cohen_2006_drug_class_reviews"
    return (cohen / f"{dataset}.csv").exists()


STOP_RULES = ("screener", "buscar", "oracle")


def stopping_by_dataset(stops: list[dict]) -> list[dict]:
    """screener's rule per dataset, worst first: the lowest recall where it stopped, the runs
    that missed 95%, the mean recall and saving, and buscar's mean saving on the same runs."""
    rows = []
    for dataset in sorted({s["dataset"] for s in stops}):
        ours = [s for s in stops if s["dataset"] == dataset and s["rule"] == "screener"]
        theirs = [s for s in stops if s["dataset"] == dataset and s["rule"] == "buscar"]
        rows.append(
            {
                "dataset": dataset,
                "runs": len(ours),
                "lowest_recall": min(s["recall"] for s in ours),
                "misses": sum(s["recall"] < 0.95 for s in ours),
                "mean_saved": float(np.mean([s["work_saved"] for s in ours])),
                "buscar_mean_saved": float(np.mean([s["work_saved"] for s in theirs])) if theirs else None,
            }
        )
    return sorted(rows, key=lambda r: (r["lowest_recall"], r["dataset"]))


def stopping_figures(stops: list[dict]) -> list[dict]:
    """Per part of the datasets (all, chosen on, checked on): runs, and for each rule the share
    of runs reaching 95% recall and the work saved (median, mean); screener's median over buscar's."""
    parts = []
    for part, keep in (
        ("all runs", lambda d: True),
        ("chosen on (Cohen 2006)", is_development),
        ("checked on (the others)", lambda d: not is_development(d)),
    ):
        chosen = [s for s in stops if keep(s["dataset"])]
        if not chosen:
            continue
        entry: dict = {"part": part, "runs": len(chosen) // len(STOP_RULES)}
        for rule in STOP_RULES:
            saved = [s["work_saved"] for s in chosen if s["rule"] == rule]
            entry[rule] = {
                "met": float(np.mean([s["recall"] >= 0.95 for s in chosen if s["rule"] == rule])),
                "median_saved": float(np.median(saved)),
                "mean_saved": float(np.mean(saved)),
            }
        buscar = entry["buscar"]["median_saved"]
        entry["ratio"] = entry["screener"]["median_saved"] / buscar if buscar > 0 else float("inf")
        parts.append(entry)
    return parts


def summarise_stopping(stops: list[dict]) -> list[str]:
    lines = []
    for entry in stopping_figures(stops):
        cells = [
            f"{rule} met {entry[rule]['met']:.0%}, saved median {entry[rule]['median_saved']:.1%} "
            f"(mean {entry[rule]['mean_saved']:.1%})"
            for rule in STOP_RULES
        ]
        lines.append(
            f"  {entry['part']}, {entry['runs']} runs: "
            + "; ".join(cells)
            + f"; screener/buscar median {entry['ratio']:.1f}x"
        )
    return lines


def partial_run(args: argparse.Namespace, tools: list[str], rows: list[dict]) -> str | None:
    """Why this run is not the full default set, whose figures docs/benchmarks.md shows, or None."""
    reasons = []
    if args.datasets:
        reasons.append(f"--datasets {args.datasets}")
    if args.seeds != SEEDS:
        reasons.append(f"--seeds {args.seeds}")
    missing = [tool for tool in DEFAULT_TOOLS if tool not in tools]
    if missing:
        reasons.append("without " + ", ".join(missing))
    if args.no_timing and args.level == "final":
        reasons.append("--no-timing")
    if not rows:
        reasons.append("no dataset")
    return "; ".join(reasons) or None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default=SEEDS)
    parser.add_argument("--datasets", default="", help="comma-separated name fragments (default: all)")
    parser.add_argument("--level", choices=["ta", "final"], default="final")
    parser.add_argument("--tools", default=",".join(DEFAULT_TOOLS), help="comma-separated tool names")
    parser.add_argument("--asreview-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (default 1)")
    parser.add_argument(
        "--tag",
        default="",
        help="reuse runs cached under this name in benchmarks/out/ranking/ (default: no cache)",
    )
    parser.add_argument("--no-timing", action="store_true", help="skip the step timing")
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
    tools = [t for t in args.tools.split(",") if t != ASREVIEW or python]
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
    all_texts: list[str] = []
    for path, (records, labels) in datasets.items():
        all_texts.extend(texts_of(records)[:2000])
        for tool in tools:
            mine = [r for r in results if r["dataset"] == path.stem and r["tool"] == tool]
            row = {"dataset": path.stem, "tool": tool, "records": len(labels), "relevant": int(labels.sum())}
            for key in ("wss@95", "rrf@10", "atd", "loss"):
                # Runs cached before the loss metric came have none: NaN, never a made-up value.
                row[key] = round(float(np.mean([r.get(key, float("nan")) for r in mine])), 4)
            row["worst wss@95"] = round(float(np.min([r["wss@95"] for r in mine])), 4)
            if "seconds_per_step" in mine[0]:
                row["seconds_per_step"] = round(float(np.median([r["seconds_per_step"] for r in mine])), 4)
            rows.append(row)
    stops = stopping_rows([r for r in results if r["tool"] in SCREENER_TOOLS])
    timing: dict = {}
    if not args.no_timing:
        # Three rounds, ours then theirs each time: the machine is shared, so medians and ratios.
        rounds = [step_timing(all_texts or ["empty"], python) for _ in range(3)]
        timing = {
            key: statistics.median(r[key] for r in rounds) for key in ("screener_ms", "slower_model_ms")
        }
        if all("asreview_ms" in r for r in rounds):
            timing["asreview_ms"] = statistics.median(r["asreview_ms"] for r in rounds)
            timing["ratios"] = [round(r["asreview_ms"] / r["screener_ms"], 2) for r in rounds]
        elif rounds and "asreview_error" in rounds[0]:
            timing["asreview_error"] = rounds[0]["asreview_error"]
    figures = {
        "rows": rows,
        "stopping": stopping_figures(stops),
        "stopping_by_dataset": stopping_by_dataset(stops),
        "step_at_20000": timing,
    }
    partial = partial_run(args, tools, rows)
    if args.json:
        print(json.dumps({"rows": rows, "stopping": stops, "step_at_20000": timing}, indent=2))
        write_results("ranking_bench", figures, partial=partial, variant=args.level)
        return
    print(
        f"Prioritised screening, {args.level} labels, seeds {args.seeds}: mean over seeds and the worst "
        "seed (priors excluded; question alone: no priors, every record)"
    )
    header = (
        f"{'dataset':24} {'tool':19} {'records':>7} {'rel':>4} {'WSS@95':>7} {'worst':>7} {'RRF@10':>7} "
        f"{'ATD':>6} {'loss':>6} {'s/step':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['dataset'][:24]:24} {r['tool']:19} {r['records']:>7} {r['relevant']:>4} {r['wss@95']:>7.1%} "
            f"{r['worst wss@95']:>7.1%} {r['rrf@10']:>7.1%} {r['atd']:>6.1%} {r['loss']:>6.3f} "
            f"{r.get('seconds_per_step', float('nan')):>7.4f}"
        )
    by_tool: dict[str, dict[str, float]] = {}
    for r in rows:
        by_tool.setdefault(r["tool"], {})[r["dataset"]] = r["wss@95"]
    print()
    for tool, values in by_tool.items():
        losses = [r["loss"] for r in rows if r["tool"] == tool]
        print(
            f"mean WSS@95 {tool:19} {np.mean(list(values.values())):.1%}, mean loss {np.mean(losses):.3f} "
            f"(median {np.median(losses):.3f}, worst {np.max(losses):.3f})"
        )
    if ASREVIEW in by_tool:
        theirs = by_tool[ASREVIEW]
        relevant = {r["dataset"]: r["relevant"] for r in rows}
        targets = {"screener": (2, -2), "screener + question": (2, -2), "question alone": (0, None)}
        for tool, (mean_target, worst_target) in targets.items():
            if tool not in by_tool:
                continue
            ours = by_tool[tool]
            gaps = {d: (ours[d] - theirs[d]) * 100 for d in ours if d in theirs}
            worst = min(gaps, key=gaps.get)
            print(
                f"{tool} vs elas_u4: {np.mean(list(gaps.values())):+.1f} points on average "
                f"(target >= {mean_target:+d}), worst dataset {worst[:20]} {gaps[worst]:+.1f}"
                + (f" (target >= {worst_target:+d})" if worst_target is not None else "")
            )
            cells = [
                f"{d[:16]} ({relevant[d]}) {g:+.1f}" for d, g in sorted(gaps.items(), key=lambda x: x[1])
            ]
            print("  by dataset, worst first: " + ", ".join(cells))
        if "elas replica" in by_tool:
            replica = by_tool["elas replica"]
            apart = max(abs(replica[d] - theirs[d]) * 100 for d in replica if d in theirs)
            print(
                f"harness check: elas replica vs elas_u4, largest difference on a dataset {apart:.1f} points"
            )
    if stops:
        print()
        print(
            "Stopping at 95% recall, per dataset, worst first (the lowest recall where screener's rule"
            " stopped; then means over the dataset's screener runs: recall there / work saved)"
        )
        print(
            f"{'dataset':24} {'runs':>4} {'lowest':>7} {'misses':>6} {'screener':>15} {'buscar':>15} "
            f"{'oracle saved':>12}"
        )

        def lowest(path: Path) -> float:
            return min(s["recall"] for s in stops if s["dataset"] == path.stem and s["rule"] == "screener")

        for path in sorted((p for p in paths if any(s["dataset"] == p.stem for s in stops)), key=lowest):
            mine = [s for s in stops if s["dataset"] == path.stem]

            def cell(rule: str, mine: list[dict] = mine) -> str:
                chosen = [s for s in mine if s["rule"] == rule]
                recall = np.mean([s["recall"] for s in chosen])
                return f"{recall:.0%} / {np.mean([s['work_saved'] for s in chosen]):.0%}"

            oracle = np.mean([s["work_saved"] for s in mine if s["rule"] == "oracle"])
            misses = sum(s["recall"] < 0.95 for s in mine if s["rule"] == "screener")
            print(
                f"{path.stem[:24]:24} {len(mine) // 3:>4} {lowest(path):>7.1%} {misses:>6} "
                f"{cell('screener'):>15} {cell('buscar'):>15} {oracle:>12.0%}"
            )
        print(
            "stopping rules, target recall 95% (screener's: met in >= 95% of runs, median saved >= 2x"
            " buscar's):"
        )
        for line in summarise_stopping(stops):
            print(line)
    if timing:
        print(
            f"step at 20,000 records (with a question): screener {timing['screener_ms']:.1f} ms "
            f"(the slower of its models' steps {timing['slower_model_ms']:.1f} ms)"
            + (
                f", ASReview {timing['asreview_ms']:.1f} ms (medians of 3 rounds; ASReview/screener "
                f"per round {timing['ratios']}, target >= 2)"
                if "asreview_ms" in timing
                else f" (ASReview: {timing.get('asreview_error', 'not run')})"
            )
        )
    write_results("ranking_bench", figures, partial=partial, variant=args.level)


if __name__ == "__main__":
    main()
