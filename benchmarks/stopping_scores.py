"""Exploration for #16: can the classifier's scores tell the stopping rule how much is left?

Not a rule screener uses yet. For each labelled dataset (seed 0, 1+1 priors, the default ranking)
it screens every record in ranked order, keeping the score each record had when it was shown
(its *prospective* score) and, every 10 records, the scores of all records. Then it replays two
score-based estimates of the relevant records still unscreened, each turned into a stop the way
screener's rule does (stop when found >= 95 % of found + the 95 % Poisson quantile of the estimate):

  in-sample     a logistic calibration of the scores of the records screened so far (the records
                the model was trained on), summed over the unscreened ones: the Quant rule's idea
                with a linear SVM's margins
  prospective   a logistic calibration of the last `window` prospective scores against their
                labels (out of sample: each score came before its label was known), summed over
                the unscreened records' current scores, times `safety`

and prints, per dataset and for the Cohen 2006 sets (where a setting would be chosen) and the
others (where it would be checked), how often 95 % recall was reached and the median work saved,
beside screener's rule and buscar on the same runs.

    python benchmarks/stopping_scores.py [--datasets ADHD,wilson] [--window 200] [--safety 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from screener.ranking import Ranker, RankerConfig, stopping
from screener.ranking.datasets import load_labelled, texts_of
from screener.ranking.simulate import prior_rows

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranking_bench import REPO, SCREENING, is_development  # noqa: E402

OUT = REPO / "benchmarks" / "out" / "scores"
EVERY = 10


def record(path: Path) -> Path:
    """Screen the whole dataset in ranked order, keeping prospective scores and score snapshots."""
    cache = OUT / f"{path.stem}.npz"
    if cache.exists():
        return cache
    records, labels = load_labelled(path, "final")
    labels = np.asarray(labels, dtype=int)
    ranker = Ranker(texts_of(records), RankerConfig(), seed=0)
    order = list(prior_rows(labels, 0, (1, 1)))
    screened = np.zeros(len(labels), dtype=bool)
    screened[order] = True
    prospective, snapshots, at = [], [], []
    while len(order) < len(labels):
        rows = np.array(order)
        ranker.fit(rows, labels[rows])
        chosen = int(ranker.next_order(np.flatnonzero(~screened))[0])
        prospective.append(float(ranker.scores[chosen]) if ranker.fitted else np.nan)
        if (len(order) - 2) % EVERY == 0:
            snapshots.append(np.asarray(ranker.scores, dtype=np.float32).copy())
            at.append(len(order))
        order.append(chosen)
        screened[chosen] = True
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        cache,
        order=np.array(order),
        labels=labels,
        prospective=np.array(prospective),
        snapshots=np.array(snapshots),
        at=np.array(at),
    )
    return cache


def _calibrated_sum(x: np.ndarray, y: np.ndarray, apply_to: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4).fit(x[:, None], y)
    return float(model.predict_proba(apply_to[:, None])[:, 1].sum())


def replay(run: dict, estimate: str, window: int, safety: float) -> tuple[float, float]:
    """(work saved, recall) where a score-based estimate stops the recorded run."""
    from scipy.stats import poisson

    order, labels, prospective = run["order"], run["labels"], run["prospective"]
    n = len(labels)
    sequence = labels[order[2:]]
    total, relevant = len(sequence), int(sequence.sum())
    for snapshot, at in zip(run["snapshots"], run["at"], strict=True):
        done = at - 2  # records screened after the priors
        if done < 100:
            continue
        rows = order[:at]
        left_rows = np.setdiff1d(np.arange(n), rows)
        if estimate == "in-sample":
            left = _calibrated_sum(
                snapshot[rows].astype(float), labels[rows], snapshot[left_rows].astype(float)
            )
        else:
            x, y = prospective[:done][-window:], sequence[:done][-window:]
            known = ~np.isnan(x)
            if y[known].sum() == 0:  # nothing relevant lately: one in window + 1, as a pseudo-count
                left = (n - at) / (window + 1)
            else:
                left = _calibrated_sum(x[known], y[known], snapshot[left_rows].astype(float))
        bound = poisson.ppf(0.95, left * safety) if left > 0 else 0
        found = int(labels[rows].sum())
        if found >= 0.95 * (found + bound):
            return 1 - done / total, float(sequence[:done].sum()) / relevant
    return 0.0, 1.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", default="", help="comma-separated name fragments (default: all but PTSD)"
    )
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--safety", type=float, default=3.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    paths = sorted(p for p in SCREENING.rglob("*.csv") if "raw_triage" not in str(p))
    paths = [p for p in paths if "van_de_Schoot" not in p.stem]  # 5,800 records: minutes per run
    if args.datasets:
        paths = [p for p in paths if any(f.lower() in p.stem.lower() for f in args.datasets.split(","))]
    with ProcessPoolExecutor(args.jobs) as pool:
        caches = list(pool.map(record, paths))
    rules = ("screener", "buscar", "in-sample", "prospective")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    print(f"{'dataset':24}" + "".join(f"{rule:>20}" for rule in rules) + "   (work saved / recall)")
    for cache in caches:
        run = dict(np.load(cache))
        sequence = run["labels"][run["order"][2:]]
        ours, buscar = stopping.DEFAULT_RULE.stop(sequence), stopping.buscar_stop(sequence)
        results[cache.stem] = {
            "screener": (ours.work_saved, ours.recall),
            "buscar": (buscar.work_saved, buscar.recall),
            "in-sample": replay(run, "in-sample", args.window, args.safety),
            "prospective": replay(run, "prospective", args.window, args.safety),
        }
        cells = "".join(f"{f'{s:.0%} / {r:.0%}':>20}" for s, r in results[cache.stem].values())
        print(f"{cache.stem[:24]:24}{cells}")
    for group, chosen in (("Cohen 2006", True), ("the others", False)):
        names = [name for name in results if is_development(name) == chosen]
        if not names:
            continue
        print(f"\n{group}, {len(names)} runs (window {args.window}, safety {args.safety}):")
        for rule in rules:
            met = sum(results[name][rule][1] >= 0.95 for name in names)
            saved = statistics.median(results[name][rule][0] for name in names)
            print(f"  {rule:12} 95% recall in {met}/{len(names)} runs, median work saved {saved:.1%}")


if __name__ == "__main__":
    main()
