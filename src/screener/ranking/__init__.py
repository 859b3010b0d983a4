"""Ranking for prioritised screening: features, classifier and query strategy as swappable parts.

`Ranker` holds one review's (or one dataset's) feature matrix, computed once; `fit` retrains
the classifier on the labelled rows and `next_order` returns the unlabelled rows in the order
to screen them. A retrain-and-rerank step costs a fit on the labelled rows and one sparse
product over all rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from .features import FEATURES, record_text
from .models import CLASSIFIERS
from .query import QUERIES

__all__ = ["Ranker", "RankerConfig", "record_text", "FEATURES", "CLASSIFIERS", "QUERIES"]


@dataclass
class RankerConfig:
    # Two views of the words (stop words removed and kept): +1.8 WSS@95 points over ASReview's
    # elas_u4 on average over 18 datasets, against +0.4 for one view (benchmarks/ranking_variants.py).
    features: str = "tfidf-two-views"
    classifier: str = "svm"
    query: str = "max"
    classifier_options: dict = field(default_factory=dict)
    feature_options: dict = field(default_factory=dict)

    def build(self):  # noqa: ANN201
        return (
            FEATURES[self.features](**self.feature_options),
            CLASSIFIERS[self.classifier](**self.classifier_options),
            QUERIES[self.query](),
        )


def _feature_matrix(features, texts: Sequence[str], config: RankerConfig, cache_dir: Path | None):  # noqa: ANN001, ANN202
    """The feature matrix, from `cache_dir` when the same texts and settings made it before
    (TF-IDF of 20,000 records takes seconds; loading it, a fraction of one)."""
    import hashlib

    import sklearn

    if cache_dir is None:
        return features.fit_transform(texts).astype(np.float32)
    digest = hashlib.sha256(
        f"{config.features}|{sorted(config.feature_options.items())}|{sklearn.__version__}".encode()
    )
    for text in texts:
        digest.update(text.encode("utf-8", "replace"))
        digest.update(b"\0")
    path = Path(cache_dir) / f"{digest.hexdigest()[:32]}.npz"
    if path.exists():
        try:
            return sparse.load_npz(path).tocsr()
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            pass
    X = features.fit_transform(texts).astype(np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp.npz")
        sparse.save_npz(temporary, X, compressed=False)
        temporary.replace(path)
        # Keep the few latest matrices: each change of the records makes a new one.
        older = sorted(path.parent.glob("*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)[4:]
        for stale in older:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only checkout still works, only slower
    return X


class Ranker:
    def __init__(
        self,
        texts: Sequence[str],
        config: RankerConfig | None = None,
        seed: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        self.config = config or RankerConfig()
        features, self.classifier, self.query = self.config.build()
        # float32 halves the memory the per-step product streams through; scores need no more.
        self.X: sparse.csr_matrix = _feature_matrix(features, texts, self.config, cache_dir)
        self.n = self.X.shape[0]
        # Columns of terms in one record only. For a linear model their weight is zero unless
        # that record is labelled, and then only that labelled record's score changes: the
        # unlabelled records' scores come exactly from the other columns, a smaller product.
        document_frequency = np.bincount(self.X.indices, minlength=self.X.shape[1])
        self._shared = np.flatnonzero(document_frequency >= 2)
        self._X_shared: sparse.csr_matrix | None = None
        self.rng = np.random.RandomState(seed)
        self.scores = np.zeros(self.n)
        self.fitted = False

    def fit(self, labelled: np.ndarray, y: np.ndarray) -> None:
        """Retrain on the labelled rows (needs at least one relevant and one irrelevant)."""
        if len(set(y.tolist())) < 2:
            self.fitted = False
            return
        self.classifier.fit(self.X[labelled], y)
        if getattr(self.classifier, "exact_zero_for_unseen", False):
            if self._X_shared is None:
                self._X_shared = self.X[:, self._shared].tocsr()
            weights = self.classifier.weights[self._shared]
            self.scores = self._X_shared @ weights + np.float32(self.classifier.intercept)
            # Labelled rows may lack their own terms' share; they are never ranked.
        else:
            self.scores = self.classifier.scores(self.X)
        self.fitted = True

    def next_order(self, unlabelled: np.ndarray) -> np.ndarray:
        """Unlabelled rows in screening order (random until the model can be trained)."""
        if not self.fitted:
            return self.rng.permutation(unlabelled)
        return self.query.order(self.scores, unlabelled, self.rng)
