"""Compare ranking configurations (features, classifier) by simulation on the labelled datasets.

This is how screener's default was chosen; it prints mean WSS@95 per dataset for each variant,
and the mean over datasets. Runs are cached by configuration in benchmarks/out/runs/ (screener_runs.py).

    python benchmarks/ranking_variants.py [--seeds 0,1,2,3,4] [--variants elas,default] [--jobs 2]

Variants whose name ends in "+q..." rank with the dataset's question (questions.toml) beside the
1+1 priors; "tiab" variants read title and abstract only (no keywords or MeSH), as the reviews
held out from us do.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from screener.ranking import TITLE_ABSTRACT_PARTNER, RankerConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranking_bench import TIAB, is_development, questions  # noqa: E402
from results_file import write_results  # noqa: E402
from screener_runs import screener_run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCREENING = REPO.parent / "shared" / "data" / "screening"


def alone(**options) -> RankerConfig:
    """One model, without the default's partner taking turns."""
    return RankerConfig(**options, interleave=False)


VARIANTS = {
    # ASReview's elas_u4 as we rebuild it: word 1-2-grams, stop words kept, linear SVM.
    "elas": alone(features="tfidf", feature_options={"stop_words": None}),
    # The same reading only title and abstract, as ASReview does: elas_u4 itself.
    "elas-tiab": TITLE_ABSTRACT_PARTNER,
    "stopwords-removed": alone(features="tfidf"),
    "words-chars": alone(features="tfidf-words-chars"),
    "logistic": alone(features="tfidf", feature_options={"stop_words": None}, classifier="logistic"),
    "two-views": alone(features="tfidf-two-views"),
    "one-bag": alone(features="tfidf-one-bag"),
    # The default: one-bag and elas-tiab taking turns.
    "one-bag+elas-tiab": RankerConfig(),
    "one-bag-tiab": alone(features="tfidf-one-bag", feature_options={"index_terms": "ignore"}),
    "two-views-tiab": alone(features="tfidf-two-views", feature_options={"index_terms": "ignore"}),
    "two-views-terms50": alone(
        features="tfidf-two-views", feature_options={"index_terms": "separate", "index_weight": 0.5}
    ),
    "two-views-terms25": alone(
        features="tfidf-two-views", feature_options={"index_terms": "separate", "index_weight": 0.25}
    ),
    # The default with the review's question (fading as 5 / (5 + inclusions)), and faster or slower.
    "one-bag+elas-tiab+q": RankerConfig(),
    "one-bag+elas-tiab+q-fade0": RankerConfig(question_fade=0.0),
    "one-bag+elas-tiab+q-fade1": RankerConfig(question_fade=1.0),
    "one-bag+elas-tiab+q-fade20": RankerConfig(question_fade=20.0),
    # The default reading title and abstract only, as on reviews without index terms.
    "tiab": TIAB,
    "tiab+q": TIAB,
    "tiab+q-fade1": replace(TIAB, question_fade=1.0),
    "tiab+q-fade20": replace(TIAB, question_fade=20.0),
    # From the question alone, no prior records ("+q0": priors 0,0; metrics over every record).
    "one-bag+elas-tiab+q0": RankerConfig(),
    "one-bag+elas-tiab+q0-fade0": RankerConfig(question_fade=0.0),
    "one-bag+elas-tiab+q0-fade1": RankerConfig(question_fade=1.0),
    # Pretrained meaning (ranking.embeddings): a third model over the static embeddings taking
    # turns, each in turn or by Thompson sampling on their recent picks ("bandit").
    "meaning-turns": RankerConfig(meaning="turns"),
    "meaning-turns+q": RankerConfig(meaning="turns"),
    "meaning-turns+q0": RankerConfig(meaning="turns"),
    "meaning-bandit+q": RankerConfig(meaning="turns", turns="bandit"),
    "bandit+q": RankerConfig(turns="bandit"),
    "tiab-meaning-turns+q": replace(TIAB, meaning="turns"),
    "tiab-meaning-partner+q": replace(TIAB, meaning="partner"),
}


def run(variant: str, path: Path, seed: int, level: str) -> float:
    question = questions()[path.stem] if "+q" in variant else None
    n_priors = (0, 0) if "+q0" in variant else (1, 1)
    return screener_run(path, level, seed, VARIANTS[variant], question=question, n_priors=n_priors)["wss@95"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--datasets", default="")
    parser.add_argument("--level", default="final")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--against", default="", help="a ranking_bench.py --tag whose cached elas_u4 runs to compare with"
    )
    parser.add_argument(
        "--record",
        default="",
        metavar="NAME",
        help="record this comparison (every dataset; the first variant the baseline) in "
        "benchmarks/results/ranking_variants-NAME.json for docs/benchmarks.md",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = args.variants.split(",")
    paths = sorted(p for p in SCREENING.rglob("*.csv") if "raw_triage" not in str(p))
    if args.datasets:
        paths = [p for p in paths if any(f.lower() in p.stem.lower() for f in args.datasets.split(","))]
    with ProcessPoolExecutor(args.jobs) as pool:
        jobs = {
            (v, p.stem, s): pool.submit(run, v, p, s, args.level)
            for v in variants
            for p in paths
            for s in seeds
        }
        table = {key: job.result() for key, job in jobs.items()}
    theirs = {}
    if args.against:
        base = REPO / "benchmarks" / "out" / "ranking" / args.against / args.level
        for p in paths:
            runs = [base / p.stem / f"asreview-seed{s}.json" for s in seeds]
            if all(r.exists() for r in runs):
                theirs[p.stem] = float(np.mean([json.loads(r.read_text())["wss@95"] for r in runs]))
    columns = variants + (["elas_u4"] if theirs else [])
    print(f"{'dataset':32}" + "".join(f"{v:>18}" for v in columns))
    means = {v: [] for v in variants}
    gaps = {v: [] for v in variants}
    for p in paths:
        cells = []
        for v in variants:
            value = float(np.mean([table[(v, p.stem, s)] for s in seeds]))
            means[v].append(value)
            if p.stem in theirs:
                gaps[v].append((value - theirs[p.stem]) * 100)
            cells.append(f"{value:>18.1%}")
        if p.stem in theirs:
            cells.append(f"{theirs[p.stem]:>18.1%}")
        print(f"{p.stem[:32]:32}" + "".join(cells))
    print(f"{'mean':32}" + "".join(f"{np.mean(means[v]):>18.1%}" for v in variants))
    if theirs:
        print(f"{'points vs elas_u4 (mean)':32}" + "".join(f"{np.mean(gaps[v]):>+18.1f}" for v in variants))
        print(f"{'points vs elas_u4 (worst)':32}" + "".join(f"{min(gaps[v]):>+18.1f}" for v in variants))
        below = {v: sum(g < -2 for g in gaps[v]) for v in variants}
        print(f"{'datasets > 2 points below':32}" + "".join(f"{below[v]:>18}" for v in variants))
    sys.stdout.flush()
    if args.record:
        rows = [
            {"dataset": p.stem, "chosen_on": is_development(p.stem)}
            | {v: float(np.mean([table[(v, p.stem, s)] for s in seeds])) for v in variants}
            for p in paths
        ]
        figures = {"level": args.level, "seeds": seeds, "variants": variants, "rows": rows}
        partial = f"--datasets {args.datasets}" if args.datasets else None
        write_results("ranking_variants", figures, partial=partial, variant=args.record)


if __name__ == "__main__":
    main()
