"""Replaying a labelled dataset as a reviewer would screen it, one record at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ScreenerError
from . import Ranker, RankerConfig
from .metrics import atd, rrf, wss

MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds from 0 to 2**32 - 1


def parse_seeds(text: str) -> list[int]:
    """`--seeds 0,1,2`: whole numbers from 0 to MAX_SEED, each once; anything else an error."""
    seeds: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if not item.isascii() or not item.isdigit() or int(item) > MAX_SEED:
            shown = "an empty item" if not item else repr(item)
            raise ScreenerError(
                f"--seeds {text!r}: {shown} is not a seed",
                hint=f"give whole numbers from 0 to {MAX_SEED}, separated by commas, e.g. --seeds 0,1,2",
            )
        if int(item) in seeds:
            raise ScreenerError(f"--seeds {text!r}: seed {int(item)} is given twice")
        seeds.append(int(item))
    return seeds


def priors(labels: np.ndarray, seed: int) -> tuple[int, int]:
    """The prior relevant and prior irrelevant rows for a seed, exactly as specified:
    r = RandomState(seed); the relevant prior first, then the irrelevant one."""
    r = np.random.RandomState(seed)
    included = r.choice(np.flatnonzero(labels == 1))
    excluded = r.choice(np.flatnonzero(labels == 0))
    return int(included), int(excluded)


@dataclass
class Simulation:
    seed: int
    order: list[int]  # rows in screening order, priors first
    prior_rows: tuple[int, int]
    labels: np.ndarray
    step_seconds: list[float]

    def screened_labels(self) -> np.ndarray:
        """Labels in screening order with the priors left out."""
        return self.labels[[r for r in self.order if r not in self.prior_rows]]

    def metrics(self) -> dict[str, float]:
        order = self.screened_labels()
        return {
            "wss@95": wss(order, 0.95),
            "wss@100": wss(order, 1.0),
            "rrf@10": rrf(order, 10),
            "atd": atd(order),
        }

    def stopping(self, target: float = 0.95, alpha: float = 0.05, sample: str = "ranked"):  # noqa: ANN201
        """Where the statistical stopping rule would have stopped this run (see stopping.py)."""
        from .stopping import simulate_stopping

        order = self.screened_labels()
        return simulate_stopping(
            order, int(order.sum()), np.random.RandomState(self.seed), target, alpha, sample=sample
        )


def simulate(
    texts: Sequence[str],
    labels: np.ndarray,
    seed: int,
    config: RankerConfig | None = None,
    n_stop: int | None = None,
    ranker: Ranker | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Simulation:
    """Screen in ranked order, retraining after every record, until every relevant record is
    found (or `n_stop` records are screened). `cache_dir` keeps the feature matrix for the
    next seed; `progress(found, relevant)` hears of each relevant record found."""
    import time

    labels = np.asarray(labels, dtype=int)
    ranker = ranker or Ranker(texts, config, seed=seed, cache_dir=cache_dir)
    first, second = priors(labels, seed)
    order = [first, second]
    is_labelled = np.zeros(len(labels), dtype=bool)
    is_labelled[[first, second]] = True
    relevant = int(labels.sum())
    remaining_relevant = relevant - int(labels[first])
    steps: list[float] = []
    limit = n_stop if n_stop is not None else len(labels)
    if progress is not None:
        progress(relevant - remaining_relevant, relevant)  # the relevant prior
    while remaining_relevant > 0 and len(order) < min(limit, len(labels)):
        start = time.perf_counter()
        labelled = np.array(order)
        ranker.fit(labelled, labels[labelled])
        candidates = np.flatnonzero(~is_labelled)
        nxt = int(ranker.next_order(candidates)[0])
        steps.append(time.perf_counter() - start)
        order.append(nxt)
        is_labelled[nxt] = True
        remaining_relevant -= int(labels[nxt])
        if progress is not None and labels[nxt]:
            progress(relevant - remaining_relevant, relevant)
    # The rest, in the last ranking, so metrics see a complete order.
    candidates = np.flatnonzero(~is_labelled)
    if len(candidates):
        order.extend(int(x) for x in ranker.next_order(candidates))
    return Simulation(seed, order, (first, second), labels, steps)
