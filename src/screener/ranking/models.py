"""Classifiers: fitted on the labelled records, scoring every record (higher = more relevant)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy import sparse


class Classifier(Protocol):
    name: str

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None: ...

    def scores(self, X: sparse.csr_matrix) -> np.ndarray: ...


def balanced_weights(y: np.ndarray, ratio: float) -> np.ndarray:
    """Sample weights giving the relevant class `ratio` times the total weight of the other,
    scaled to sum to the number of samples, so that C keeps its meaning (as ASReview's
    "balanced" weighting does)."""
    n_pos, n_neg = max(int(y.sum()), 1), max(int(len(y) - y.sum()), 1)
    weights = np.where(y == 1, ratio * n_neg / n_pos, 1.0)
    return weights * (len(y) / weights.sum())


class LinearSVM:
    """Linear SVM (ASReview's elas_u4 uses C=0.11 with balance ratio 9.8)."""

    name = "svm"

    def __init__(self, C: float = 0.11, balance: float = 9.8) -> None:
        self.C, self.balance = C, balance
        self.model = None

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None:
        from sklearn.svm import LinearSVC

        self.model = LinearSVC(C=self.C, loss="squared_hinge", dual="auto", max_iter=5000)
        self.model.fit(X, y, sample_weight=balanced_weights(y, self.balance))

    def scores(self, X: sparse.csr_matrix) -> np.ndarray:
        return self.model.decision_function(X)


class Logistic:
    """L2 logistic regression with balanced class weights."""

    name = "logistic"

    def __init__(self, C: float = 1.0, balance: float = 1.0) -> None:
        self.C, self.balance = C, balance
        self.model = None

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear")
        self.model.fit(X, y, sample_weight=balanced_weights(y, self.balance))

    def scores(self, X: sparse.csr_matrix) -> np.ndarray:
        return self.model.decision_function(X)


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
