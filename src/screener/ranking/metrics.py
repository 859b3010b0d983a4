"""Screening-prioritisation metrics on an order of records (priors excluded).

`order`: the labels (1 relevant, 0 not) of the records in the order they were screened, priors
left out. WSS@r = share of records not screened when recall r is reached, minus (1 - r);
RRF@p = share of relevant records found after screening p percent of the records;
ATD = mean share of records screened before each relevant record is found (Ferdinands 2023);
loss = the area between the recall curve and the perfect one, as a share of the area between the
perfect and the worst (ASReview Insights' "Loss": 0 every relevant record first, 1 every one last).
"""

from __future__ import annotations

import math

import numpy as np


def wss(order: np.ndarray, recall: float) -> float:
    n, relevant = len(order), int(np.sum(order))
    if relevant == 0 or n == 0:
        return float("nan")
    needed = math.ceil(recall * relevant)
    screened = int(np.searchsorted(np.cumsum(order), needed) + 1)
    return (n - screened) / n - (1 - recall)


def rrf(order: np.ndarray, percent: float) -> float:
    n, relevant = len(order), int(np.sum(order))
    if relevant == 0:
        return float("nan")
    k = int(math.ceil(n * percent / 100))
    return float(np.sum(order[:k])) / relevant


def atd(order: np.ndarray) -> float:
    n = len(order)
    positions = np.flatnonzero(order) + 1
    if len(positions) == 0:
        return float("nan")
    return float(np.mean(positions) / n)


def loss(order: np.ndarray) -> float:
    """Normalised loss: (perfect area - this area) / (perfect area - worst area), the areas
    under the recall curve counted in records found after each record screened. Perfect: the
    relevant records first; worst: all of them last. NaN when there is nothing to rank (no
    relevant record, or no other)."""
    n, relevant = len(order), int(np.sum(order))
    if relevant == 0 or relevant == n:
        return float("nan")
    area = float(np.cumsum(order).sum())
    # Perfect: k found after the k-th record for k up to `relevant`, then `relevant` for the rest.
    perfect = relevant * n - relevant * (relevant - 1) / 2
    worst = relevant * (relevant + 1) / 2
    return (perfect - area) / (perfect - worst)


def recall_curve(order: np.ndarray) -> np.ndarray:
    relevant = max(int(np.sum(order)), 1)
    return np.cumsum(order) / relevant
