"""One simulated screener run of a labelled dataset, cached on disk by its ranking configuration.

ranking_bench.py and ranking_variants.py share these runs: a configuration compared in the
variants and then made the default is not simulated twice. The cache key is the configuration's
full content (features, classifier, query and their options), so changing the default can never
reuse runs of another model.
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
from screener.ranking.metrics import atd, rrf, wss
from screener.ranking.simulate import simulate

RUNS = Path(__file__).resolve().parent / "out" / "runs"


def metrics(order_labels: np.ndarray) -> dict[str, float]:
    return {"wss@95": wss(order_labels, 0.95), "rrf@10": rrf(order_labels, 10), "atd": atd(order_labels)}


def config_key(config: RankerConfig) -> str:
    """Names the runs of one configuration of one screener version: the options as given and
    as the parts resolve them, so a changed default in a part never reuses older runs.
    (Delete benchmarks/out/runs/ to simulate afresh after a change that keeps all of these.)"""
    parts = [[vars(part) for part in member.build()] for member in config.members()]
    content = json.dumps([screener.__version__, asdict(config), parts], sort_keys=True, default=str)
    name = f"{config.features}-{config.classifier}" + ("-turns" if config.interleave else "")
    return f"{name}-{hashlib.sha256(content.encode()).hexdigest()[:10]}"


def screener_run(path: Path, level: str, seed: int, config: RankerConfig | None = None) -> dict:
    """Metrics, stopping-rule result and step time of one simulation (cached)."""
    config = config or RankerConfig()
    cache = RUNS / config_key(config) / level / path.stem / f"seed{seed}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    records, labels = load_labelled(path, level)
    run = simulate(texts_of(records), labels, seed, config)
    stop = run.stopping()
    result = {
        "dataset": path.stem,
        "tool": "screener",
        "seed": seed,
        "config": asdict(config),
        **metrics(run.screened_labels()),
        "seconds_per_step": statistics.median(run.step_seconds),
        "stop": {"recall": stop.recall, "work_saved": stop.work_saved, "target": stop.target},
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result
