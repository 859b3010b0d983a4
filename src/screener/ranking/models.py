"""Classifiers: fitted on the labelled records, scoring every record (higher = more relevant)."""

from __future__ import annotations

import functools
from typing import Protocol

import numpy as np
from scipy import sparse


class Classifier(Protocol):
    name: str

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None: ...

    def scores(self, X: sparse.csr_matrix) -> np.ndarray: ...


class _Linear:
    """A linear model fitted by sklearn, scored as one sparse product: X @ w + b.

    Two exact shortcuts make a retrain-and-rerank step cheap. The fit sees only the columns
    the labelled rows use (with L2 regularisation every other weight is exactly zero), and
    scores are one float32 matrix-vector product instead of decision_function, which
    re-validated the whole matrix on every call.
    """

    model = None
    used: np.ndarray | None = None  # the columns the fit saw (those the labelled rows have)
    coef: np.ndarray | None = None  # their weights (every other column's weight is zero)
    n_columns: int = 0
    intercept: float = 0.0
    exact_zero_for_unseen = True  # features no labelled row has get weight 0

    def _estimator(self):  # noqa: ANN202
        raise NotImplementedError

    def _sample_weight(self, y: np.ndarray) -> np.ndarray:
        return balanced_weights(y, self.balance)

    def fit(self, X: sparse.csr_matrix, y: np.ndarray) -> None:
        # The Ranker keeps its labelled rows narrow itself (fit_compact); this is for other callers.
        used, position = np.unique(X.indices, return_inverse=True)
        compact = sparse.csr_matrix((X.data, position, X.indptr), shape=(X.shape[0], len(used)))
        self.fit_compact(compact, y, used, X.shape[1])

    def fit_compact(
        self,
        compact: sparse.csr_matrix,
        y: np.ndarray,
        used: np.ndarray,
        n_columns: int,
        scale: np.ndarray | None = None,
    ) -> None:
        """Fit on `compact`, whose column k is column used[k] of an n_columns-wide matrix.
        `scale` multiplies each row's balanced weight (the review question's fading weight)."""
        weights = self._sample_weight(y) if scale is None else self._sample_weight(y) * scale
        solved = self._solve_directly(compact, y, weights)
        if solved is None:
            coef, intercept = self._solve(compact, y, weights)
        else:
            coef, intercept = solved
        self.used, self.coef, self.n_columns = used, coef.ravel().astype(np.float32), n_columns
        self.intercept = float(np.ravel(intercept)[0])

    def _solve(self, compact: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray) -> tuple:
        """(coef, intercept) from the scikit-learn estimator."""
        import sklearn

        model = self._estimator()
        # The input was built here and is finite: skip sklearn's per-call validation.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            model.fit(compact, y, sample_weight=weights)
        return model.coef_, model.intercept_

    def _solve_directly(self, compact: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray) -> tuple | None:
        """(coef, intercept) by a quicker road to the same solver, or None: take _solve."""
        return None

    @property
    def weights(self) -> np.ndarray:
        """One weight per column of the matrix fitted on."""
        weights = np.zeros(self.n_columns, dtype=np.float32)
        weights[self.used] = self.coef
        return weights

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

    def __init__(self, C: float = 0.11, balance: float = 9.8, seed: int = 0) -> None:
        self.C, self.balance, self.seed = C, balance, seed
        self.model = None

    def _estimator(self):  # noqa: ANN202
        from sklearn.svm import LinearSVC

        # dual=True: far fewer labelled records than features, where the dual solver is the fast one.
        # A fixed seed for its coordinate order: left to numpy's global generator, two runs of one
        # simulation could rank near-ties differently.
        return LinearSVC(C=self.C, loss="squared_hinge", dual=True, max_iter=5000, random_state=self.seed)

    def _solve_directly(self, compact: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray) -> tuple | None:
        """LinearSVC's own liblinear solve, called the way LinearSVC.fit calls it, without the
        checks around it: they took 2.5 of a 4.5 ms fit at 20,000 records, every step. The
        call is scikit-learn's private interface, so each process first checks it against
        LinearSVC on a small problem and takes LinearSVC whenever it differs or fails."""
        if not _direct_liblinear_agrees():
            return None
        return _liblinear_svm(compact, y, weights, self.C, 5000, self.seed)


def _liblinear_svm(
    X: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray, C: float, max_iter: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(coef, intercept) of LinearSVC(C, loss="squared_hinge", dual=True, tol=1e-4, max_iter,
    random_state=seed) fitted on X (0/1 labels y, both present) with sample weights."""
    from sklearn.svm import _liblinear

    X = sparse.csr_matrix(X, dtype=np.float64)
    y = np.require(np.asarray(y, dtype=np.float64).ravel(), requirements="W")
    weights = np.require(np.asarray(weights, dtype=np.float64).ravel(), requirements="C")
    # As _fit_liblinear: the seed is one draw of the estimator's random state; solver type 1
    # is L2-regularised squared hinge, dual; bias 1.0 fits the intercept; classes weigh 1.
    random_seed = np.random.RandomState(seed).randint(np.iinfo("i").max)
    raw_coef, n_iter = _liblinear.train_wrap(
        X, y, True, 1, 1e-4, 1.0, C, np.ones(2), max_iter, random_seed, 0.1, weights
    )
    if max(n_iter) >= max_iter:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        message = "Liblinear failed to converge, increase the number of iterations."
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return raw_coef[:, :-1], raw_coef[:, -1]


@functools.cache
def _direct_liblinear_agrees() -> bool:
    """Whether _liblinear_svm gives LinearSVC's coefficients exactly, on a small sparse
    problem with weights (once per process: about 2 ms)."""
    try:
        rng = np.random.RandomState(7)
        X = sparse.random(40, 60, density=0.2, format="csr", dtype=np.float32, random_state=rng)
        y = (np.arange(40) % 4 == 0).astype(int)
        weights = balanced_weights(y, 9.8) * rng.uniform(0.5, 1.5, size=40)
        svm = LinearSVM(seed=3)
        expected = svm._solve(X, y, weights)
        got = _liblinear_svm(X, y, weights, svm.C, 5000, svm.seed)
        return all(np.array_equal(np.ravel(a), np.ravel(b)) for a, b in zip(expected, got, strict=True))
    except Exception:  # another scikit-learn: its own estimator, slower but sure
        return False


class Logistic(_Linear):
    """L2 logistic regression with balanced class weights."""

    name = "logistic"

    def __init__(self, C: float = 1.0, balance: float = 1.0, seed: int = 0) -> None:
        self.C, self.balance, self.seed = C, balance, seed
        self.model = None

    def _estimator(self):  # noqa: ANN202
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=2000, solver="liblinear", random_state=self.seed)


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
