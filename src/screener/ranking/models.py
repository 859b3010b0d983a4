"""Classifiers: fitted on the labelled records, scoring every record (higher = more relevant)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy import sparse


class Classifier(Protocol):
    name: str

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None: ...

    def scores(self, X: sparse.csr_matrix) -> np.ndarray: ...


class _Linear:
    """Scores as one sparse matrix-vector product: X @ w + b with float32 weights.

    sklearn's decision_function validates the whole matrix on every call, which cost more
    than the product itself at 20,000 records; the model is fitted by sklearn as before.
    """

    model = None
    weights: np.ndarray | None = None
    intercept: float = 0.0

    def _keep(self) -> None:
        self.weights = np.ascontiguousarray(self.model.coef_.ravel(), dtype=np.float32)
        self.intercept = float(np.ravel(self.model.intercept_)[0])

    def scores(self, X: sparse.csr_matrix) -> np.ndarray:
        weights = self.weights if X.dtype == np.float32 else self.weights.astype(X.dtype)
        return X @ weights + np.float32(self.intercept)


def balanced_weights(y: np.ndarray, ratio: float) -> np.ndarray:
    """Sample weights giving the relevant class `ratio` times the total weight of the other,
    scaled to sum to the number of samples, so that C keeps its meaning (as ASReview's
    "balanced" weighting does)."""
    n_pos, n_neg = max(int(y.sum()), 1), max(int(len(y) - y.sum()), 1)
    weights = np.where(y == 1, ratio * n_neg / n_pos, 1.0)
    return weights * (len(y) / weights.sum())


class LinearSVM(_Linear):
    """Linear SVM (ASReview's elas_u4 uses C=0.11 with balance ratio 9.8)."""

    name = "svm"

    def __init__(self, C: float = 0.11, balance: float = 9.8) -> None:
        self.C, self.balance = C, balance
        self.model = None

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None:
        from sklearn.svm import LinearSVC

        # dual=True: far fewer labelled records than features, where the dual solver is the fast one.
        self.model = LinearSVC(C=self.C, loss="squared_hinge", dual=True, max_iter=5000)
        self.model.fit(X, y, sample_weight=balanced_weights(y, self.balance))
        self._keep()


class Logistic(_Linear):
    """L2 logistic regression with balanced class weights."""

    name = "logistic"

    def __init__(self, C: float = 1.0, balance: float = 1.0) -> None:
        self.C, self.balance = C, balance
        self.model = None

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear")
        self.model.fit(X, y, sample_weight=balanced_weights(y, self.balance))
        self._keep()


class NaiveBayes:
    """Multinomial naive Bayes (ASReview's earlier default)."""

    name = "nb"

    def __init__(self, alpha: float = 3.822) -> None:
        self.alpha = alpha
        self.model = None

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None:
        from sklearn.naive_bayes import MultinomialNB

        self.model = MultinomialNB(alpha=self.alpha)
        self.model.fit(X, y, sample_weight=balanced_weights(y, 1.0))

    def scores(self, X: sparse.csr_matrix) -> np.ndarray:
        log_prob = self.model.predict_log_proba(X)
        return log_prob[:, 1] - log_prob[:, 0]


CLASSIFIERS = {"svm": LinearSVM, "logistic": Logistic, "nb": NaiveBayes}
