"""When to stop screening: a rule with a statistical guarantee, and the simple heuristics.

The guarantee follows Callaghan & Müller-Hansen (2020, "buscar"): once ranked screening stops
turning up relevant records, screen a random sample of what is left. With `found_before`
relevant records found before sampling and `found_in_sample` in a sample of `sample_size`
drawn from `remaining` unscreened records, the null hypothesis "recall is below the target"
means at least K = floor(found / target) + 1 - found_before relevant records were among the
remaining; the chance of seeing this few in the sample is then a hypergeometric tail. Stop when
it is below alpha: recall is then at or above the target with probability at least 1 - alpha.

`sample="ranked"` goes on in ranked order after the trigger and treats those records as the
sample. Ranking puts relevant records first, so such a sample holds at least as many relevant
records as a random one would, and the random-sample p-value is an upper bound: the test stays
valid, and costs far fewer records (as in Callaghan & Müller-Hansen's use of the last records
screened). `sample="random"` draws at random from what is left, the textbook version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def recall_below_target_p(
    remaining: int, sample_size: int, found_in_sample: int, found_before: int, target: float = 0.95
) -> float:
    """p-value of H0 "recall < target" after a random sample of the records left."""
    from scipy.stats import hypergeom

    if sample_size >= remaining:
        return 0.0  # everything was screened: recall is 100 %
    found = found_before + found_in_sample
    least_relevant_total = math.floor(found / target) + 1  # the smallest total for which recall < target
    k_remaining = least_relevant_total - found_before
    if k_remaining > remaining:
        return 0.0
    return float(hypergeom.cdf(found_in_sample, remaining, k_remaining, sample_size))


def trigger_point(labels_in_order: np.ndarray, trigger: int) -> int | None:
    """How many records were screened when `trigger` irrelevant ones in a row first came up
    (None if they never did). Vectorised: it runs on every redraw of the screen."""
    labels = np.asarray(labels_in_order)
    relevant = np.flatnonzero(labels)
    run_starts = np.concatenate(([0], relevant + 1))
    run_lengths = np.concatenate((relevant, [len(labels)])) - run_starts
    long_enough = np.flatnonzero(run_lengths >= trigger)
    return int(run_starts[long_enough[0]] + trigger) if len(long_enough) else None


def irrelevant_in_a_row(labels_in_order: np.ndarray) -> int:
    """How many records since the last relevant one (the usual heuristic)."""
    positions = np.flatnonzero(labels_in_order)
    return len(labels_in_order) - (int(positions[-1]) + 1 if len(positions) else 0)


@dataclass
class StopResult:
    stopped_at: int  # records screened when the rule said stop (ranked + random sample)
    ranked: int  # records screened in ranked order before sampling began
    sample: int  # records in the random sample
    recall: float  # true recall at the stop (known in simulation)
    work_saved: float  # 1 - stopped_at / N
    p_value: float
    target: float


def simulate_stopping(
    ranked_labels: np.ndarray,
    total_relevant: int,
    rng: np.random.RandomState,
    target: float = 0.95,
    alpha: float = 0.05,
    trigger: int | None = None,
    sample: str = "ranked",
) -> StopResult:
    """Apply the rule to a simulated run.

    `ranked_labels`: labels of every record in the order ranked screening would show them
    (priors excluded). Ranked screening goes on until `trigger` irrelevant records in a row
    (default: 5 % of the records, at least 50, at most 300); then records are drawn at random
    from the rest until the hypergeometric test says stop.
    """
    n = len(ranked_labels)
    if trigger is None:
        trigger = default_trigger(n)
    k = trigger_point(ranked_labels, trigger)
    k = n if k is None else k
    found = int(np.sum(ranked_labels[:k]))
    remaining = ranked_labels[k:]
    order = np.arange(len(remaining)) if sample == "ranked" else rng.permutation(len(remaining))
    drawn, found_in_sample, p = 0, 0, 0.0
    if len(remaining):
        from scipy.stats import hypergeom

        # Every sample size at once: the first at which the test rejects "recall < target".
        in_sample = np.cumsum(remaining[order])
        sizes = np.arange(1, len(remaining) + 1)
        least_total = np.floor((found + in_sample) / target) + 1
        k_left = least_total - found
        p_values = hypergeom.cdf(in_sample, len(remaining), np.minimum(k_left, len(remaining)), sizes)
        p_values[k_left > len(remaining)] = 0.0
        p_values[-1] = 0.0  # everything screened
        first = int(np.argmax(p_values < alpha))
        drawn, found_in_sample, p = first + 1, int(in_sample[first]), float(p_values[first])
    screened = k + drawn
    recall = (found + found_in_sample) / total_relevant if total_relevant else 1.0
    return StopResult(screened, k, drawn, recall, 1 - screened / n if n else 0.0, p, target)


def default_trigger(n: int) -> int:
    """Irrelevant records in a row before sampling starts: 5 % of the records, 50 to 300."""
    return int(min(300, max(50, math.ceil(0.05 * n))))


@dataclass
class LiveEstimate:
    """What a reviewer sees while screening: how far along the rule is, and what it can say."""

    screened: int
    found: int
    irrelevant_in_a_row: int
    trigger: int
    sampling: bool  # past the trigger: the records since then are the test sample
    recall_low: float | None  # recall is at least this with confidence 1 - alpha (None: no claim yet)
    relevant_left_high: int | None  # at most this many relevant records are left (same confidence)
    p_value: float | None  # of "recall < target"
    target: float
    alpha: float

    @property
    def safe_to_stop(self) -> bool:
        return self.p_value is not None and self.p_value < self.alpha

    def describe(self) -> str:
        head = f"{self.found} relevant found, {self.irrelevant_in_a_row} irrelevant in a row"
        if self.recall_low is None:
            if not self.sampling:
                return f"{head}; the stopping rule starts testing after {self.trigger} in a row"
            return f"{head}; not enough evidence yet to bound recall"
        bound = (
            f"recall ≥ {self.recall_low:.0%} and at most {self.relevant_left_high} relevant left "
            f"({1 - self.alpha:.0%} confidence)"
        )
        verdict = (
            f"safe to stop at {self.target:.0%} recall"
            if self.safe_to_stop
            else f"keep going for {self.target:.0%} recall"
        )
        return f"{head}; {bound}; {verdict}"


def live_estimate(
    labels_in_order: np.ndarray,
    total: int,
    ranked: bool = True,
    target: float = 0.95,
    alpha: float = 0.05,
    trigger: int | None = None,
) -> LiveEstimate:
    """The stopping rule on a reviewer's decisions so far (1 relevant, 0 not, in screening order).

    Ranked order: screening goes on in ranked order past `trigger` irrelevant records in a row,
    and the records screened since then are the test sample (as in simulate_stopping with
    sample="ranked"). Random order: everything screened is a random sample of all records.
    """
    labels = np.asarray(labels_in_order, dtype=int)
    n = len(labels)
    trigger = default_trigger(total) if trigger is None else trigger
    found = int(labels.sum())
    in_a_row = irrelevant_in_a_row(labels)
    if n >= total:  # everything is screened: nothing relevant can be left
        return LiveEstimate(n, found, in_a_row, trigger, True, 1.0, 0, 0.0, target, alpha)
    if ranked:
        start = trigger_point(labels, trigger)
        if start is None:
            return LiveEstimate(n, found, in_a_row, trigger, False, None, None, None, target, alpha)
        remaining, before, sample = total - start, int(labels[:start].sum()), labels[start:]
    else:
        remaining, before, sample = total, 0, labels
    in_sample = int(sample.sum())

    p_target = recall_below_target_p(remaining, len(sample), in_sample, before, target)
    # The best recall level the test supports, over 50 % to 99 % in one vectorised call.
    levels = np.round(np.arange(0.99, 0.495, -0.01), 2)
    k_left = np.floor(found / levels) + 1 - before
    from scipy.stats import hypergeom

    p_values = hypergeom.cdf(in_sample, remaining, np.minimum(k_left, remaining), len(sample))
    p_values[k_left > remaining] = 0.0
    passing = np.flatnonzero(p_values < alpha)
    recall_low = float(levels[passing[0]]) if len(passing) else None
    left = None
    if recall_low is not None:
        left = max(0, math.floor(found / recall_low) - found) if recall_low < 1 else 0
    return LiveEstimate(n, found, in_a_row, trigger, True, recall_low, left, p_target, target, alpha)
