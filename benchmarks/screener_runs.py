"""One simulated screener run of a labelled dataset, cached on disk by its ranking configuration.

ranking_bench.py and ranking_variants.py share these runs: a configuration compared in the
variants and then made the default is not simulated twice. The cache key is the configuration's
full content (features, classifier, query and their options), so changing the default can never
reuse runs of another model. A run with a question, or with other priors than one relevant and
one irrelevant record, is cached beside the plain ones under a name that says so.

Each run keeps where the relevant records came up in its screening order (priors left out):
the stopping rules are replayed on that sequence (ranking_bench.py), without simulating again.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import asdict
from pathlib import Path

import numpy as np

import screener
from screener.ranking import RankerConfig
from screener.ranking.datasets import load_labelled, texts_of
from screener.ranking.metrics import atd, loss, rrf, wss
from screener.ranking.question import QUESTION_FADE
from screener.ranking.ranker import build_parts
from screener.ranking.simulate import simulate

RUNS = Path(__file__).resolve().parent / "out" / "runs"


def metrics(order_labels: np.ndarray) -> dict[str, float]:
    return {
        "wss@95": wss(order_labels, 0.95),
        "rrf@10": rrf(order_labels, 10),
        "atd": atd(order_labels),
        "loss": loss(order_labels),
    }


def config_key(config: RankerConfig) -> str:
    """Names the runs of one configuration of one screener version: the options as given and
    as the parts resolve them, so a changed default in a part never reuses older runs.
    (Delete benchmarks/out/runs/ to simulate afresh after a change that keeps all of these.)"""
    parts = [[vars(part) for part in build_parts(member)] for member in config.members()]
    options = asdict(config)
    # question_fade came after runs were cached: at its default it is left out, as before.
    if options.get("question_fade") == QUESTION_FADE:
        del options["question_fade"]
    content = json.dumps([screener.__version__, options, parts], sort_keys=True, default=str)
    name = f"{config.features}-{config.classifier}" + ("-turns" if config.interleave else "")
    return f"{name}-{hashlib.sha256(content.encode()).hexdigest()[:10]}"


def run_name(seed: int, question: str | None, n_priors: tuple[int, int]) -> str:
    """The cache file of one run: the seed, the priors when not 1+1, a digest of the question."""
    name = f"seed{seed}"
    if n_priors != (1, 1):
        name += f"-priors{n_priors[0]}_{n_priors[1]}"
    if question:
        name += f"-q{hashlib.sha256(question.encode()).hexdigest()[:8]}"
    return name + ".json"


def relevant_positions(order_labels: np.ndarray) -> list[int]:
    return [int(k) for k in np.flatnonzero(order_labels)]


def labels_from_positions(positions: list[int], n: int) -> np.ndarray:
    labels = np.zeros(n, dtype=int)
    labels[positions] = 1
    return labels


def screener_run(
    path: Path,
    level: str,
    seed: int,
    config: RankerConfig | None = None,
    question: str | None = None,
    n_priors: tuple[int, int] = (1, 1),
) -> dict:
    """Metrics, screening order (where the relevant records came up) and step time of one
    simulation (cached)."""
    config = config or RankerConfig()
    cache = RUNS / config_key(config) / level / path.stem / run_name(seed, question, n_priors)
    if cache.exists():
        return json.loads(cache.read_text())
    records, labels = load_labelled(path, level)
    options = {}
    if question or n_priors != (1, 1):  # the plain call stays valid for an older screener
        options = {"question": question, "n_priors": n_priors}
    run = simulate(texts_of(records), labels, seed, config, **options)
    screened = run.screened_labels()
    result = {
        "dataset": path.stem,
        "tool": "screener",
        "seed": seed,
        "config": asdict(config),
        "question": question or "",
        "priors": list(n_priors),
        **metrics(screened),
        "seconds_per_step": statistics.median(run.step_seconds) if run.step_seconds else float("nan"),
        "screened": len(screened),
        "relevant_at": relevant_positions(screened),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result
