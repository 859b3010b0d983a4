"""Query strategies: which unlabelled record to show next, from the classifier's scores."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class QueryStrategy(Protocol):
    name: str

    def order(self, scores: np.ndarray, candidates: np.ndarray, rng: np.random.RandomState) -> np.ndarray: ...


class Max:
    """Most likely relevant first (certainty-based sampling)."""

    name = "max"

    def order(self, scores: np.ndarray, candidates: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        # Stable order on ties: candidates keep their file order.
        return candidates[np.argsort(-scores[candidates], kind="stable")]


class Uncertainty:
    """Closest to the decision boundary first."""

    name = "uncertainty"

    def order(self, scores: np.ndarray, candidates: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        return candidates[np.argsort(np.abs(scores[candidates]), kind="stable")]


class Random:
    name = "random"

    def order(self, scores: np.ndarray, candidates: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        return rng.permutation(candidates)


QUERIES = {"max": Max, "uncertainty": Uncertainty, "random": Random}
