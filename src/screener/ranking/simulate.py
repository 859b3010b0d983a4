"""Replaying a labelled dataset as a reviewer would screen it, one record at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ScreenerError
from . import Ranker, RankerConfig
from .metrics import atd, loss, rrf, wss

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


def prior_rows(labels: np.ndarray, seed: int, n_priors: tuple[int, int] = (1, 1)) -> tuple[int, ...]:
    """`n_priors` = (relevant, irrelevant) prior rows for a seed, from one r = RandomState(seed):
    the relevant ones first, then the irrelevant ones; one of a kind is r.choice(rows) (so 1,1
    is `priors` exactly), more are r.choice(rows, n, replace=False), none draws nothing."""
    r = np.random.RandomState(seed)
    chosen: list[int] = []
    for value, n in zip((1, 0), n_priors, strict=True):
        rows = np.flatnonzero(labels == value)
        if n > len(rows):
            kind = "relevant" if value else "irrelevant"
            raise ScreenerError(
                f"--priors asks for {n} {kind} records; the dataset has {len(rows)}",
                hint="ask for fewer priors",
            )
        if n == 1:
            chosen.append(int(r.choice(rows)))
        elif n > 1:
            chosen.extend(int(x) for x in r.choice(rows, n, replace=False))
    return tuple(chosen)


def parse_priors(text: str, question: str = "") -> tuple[int, int]:
    """`--priors N_REL,N_IRR`: two whole numbers; 0,0 only with a question to start from."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        raise ScreenerError(
            f"--priors {text!r} is not two counts",
            hint="give relevant,irrelevant prior records, e.g. --priors 1,1 (or 0,0 with --question)",
        )
    counts = (int(parts[0]), int(parts[1]))
    if counts == (0, 0) and not question.strip():
        raise ScreenerError(
            "--priors 0,0 starts from the question alone, and no question was given",
            hint="add --question TEXT or --question-file FILE, or give priors such as --priors 1,1",
        )
    return counts


@dataclass
class Simulation:
    seed: int
    order: list[int]  # rows in screening order, priors first
    prior_rows: tuple[int, ...]
    labels: np.ndarray
    step_seconds: list[float]
    # Records screened (priors included) when n_stop cut the run before every relevant record
    # was found; the rest of `order` is the last ranking's, which never learnt from them.
    cut_at: int | None = None

    def screened_labels(self) -> np.ndarray:
        """Labels in screening order with the priors left out."""
        priors = set(self.prior_rows)
        return self.labels[[r for r in self.order if r not in priors]]

    def metrics(self) -> dict[str, float]:
        order = self.screened_labels()
        return {
            "wss@95": wss(order, 0.95),
            "wss@100": wss(order, 1.0),
            "rrf@10": rrf(order, 10),
            "atd": atd(order),
            "loss": loss(order),
        }

    def stopping(self, target: float = 0.95):  # noqa: ANN201 - stopping.StopResult
        """Where screener's stopping rule would have stopped this run (stopping.DEFAULT_RULE)."""
        from .stopping import DEFAULT_RULE

        return DEFAULT_RULE.stop(self.screened_labels(), target)


def simulate(
    texts: Sequence[str],
    labels: np.ndarray,
    seed: int,
    config: RankerConfig | None = None,
    n_stop: int | None = None,
    ranker: Ranker | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    question: str | None = None,
    n_priors: tuple[int, int] = (1, 1),
) -> Simulation:
    """Screen in ranked order, retraining after every record, until every relevant record is
    found (or `n_stop` records are screened). `cache_dir` keeps the feature matrix for the
    next seed; `progress(found, relevant)` hears of each relevant record found. `question`
    ranks the records before the first inclusion and then trains beside them (Ranker);
    `n_priors` (relevant, irrelevant) are drawn by prior_rows, 0,0 with a question only."""
    import time

    labels = np.asarray(labels, dtype=int)
    if tuple(n_priors) == (0, 0) and not (question or "").strip():
        raise ScreenerError("a simulation from no prior records needs a question to start from")
    ranker = ranker or Ranker(texts, config, seed=seed, cache_dir=cache_dir, question=question or "")
    chosen = prior_rows(labels, seed, tuple(n_priors))
    order = list(chosen)
    is_labelled = np.zeros(len(labels), dtype=bool)
    is_labelled[order] = True
    relevant = int(labels.sum())
    remaining_relevant = relevant - int(labels[order].sum())
    steps: list[float] = []
    limit = n_stop if n_stop is not None else len(labels)
    if progress is not None:
        progress(relevant - remaining_relevant, relevant)  # the relevant prior
    while remaining_relevant > 0 and len(order) < min(limit, len(labels)):
        start = time.perf_counter()
        labelled = np.array(order, dtype=np.int64)
        ranker.fit(labelled, labels[labelled] if len(labelled) else np.zeros(0, dtype=int))
        candidates = np.flatnonzero(~is_labelled)
        nxt = int(ranker.next_order(candidates)[0])
        steps.append(time.perf_counter() - start)
        order.append(nxt)
        is_labelled[nxt] = True
        remaining_relevant -= int(labels[nxt])
        if progress is not None and labels[nxt]:
            progress(relevant - remaining_relevant, relevant)
    cut_at = len(order) if remaining_relevant > 0 and len(order) < len(labels) else None
    # The rest, in the last ranking, so metrics see a complete order.
    candidates = np.flatnonzero(~is_labelled)
    if len(candidates):
        order.extend(int(x) for x in ranker.next_order(candidates))
    return Simulation(seed, order, chosen, labels, steps, cut_at)
