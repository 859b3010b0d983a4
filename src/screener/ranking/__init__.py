"""Ranking for prioritised screening: features, classifier and query strategy as swappable parts.

`Ranker` holds one review's (or one dataset's) feature matrix, computed once; `fit` retrains
the classifier on the labelled rows and `next_order` returns the unlabelled rows in the order
to screen them. A retrain-and-rerank step costs a fit on the labelled rows and one sparse
product over all rows.
"""

from __future__ import annotations

import inspect
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
    # The n-grams of two readings of the words (stop words removed and kept) in one bag: +2.1
    # WSS@95 points over ASReview's elas_u4 on average over 18 datasets, against +1.8 for the
    # two readings as two views and +0.4 for one reading, and the cheapest step of the three
    # (benchmarks/ranking_variants.py).
    features: str = "tfidf-one-bag"
    classifier: str = "svm"
    query: str = "max"
    classifier_options: dict = field(default_factory=dict)
    feature_options: dict = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: dict) -> RankerConfig:
        """From review.toml's [ranking] table: `features`, `classifier`, `query`, and the
        features' options `index_terms` ("words", "ignore"; "separate" for two views) and
        `index_weight` (two views). Raises ValueError naming the key that is wrong."""
        parts = {"features": FEATURES, "classifier": CLASSIFIERS, "query": QUERIES}
        options = ("index_terms", "index_weight")
        unknown = sorted(set(table) - set(parts) - set(options))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; keys are {', '.join([*parts, *options])}")
        chosen = {}
        for key, known in parts.items():
            value = table.get(key, getattr(cls, key))
            if value not in known:
                raise ValueError(f"{key} must be one of {', '.join(known)}, not {value!r}")
            chosen[key] = value
        feature_options = {k: table[k] for k in options if k in table}
        if not isinstance(feature_options.get("index_weight", 1.0), (int, float)):
            raise ValueError("index_weight must be a number")
        config = cls(**chosen, feature_options=feature_options)
        try:
            config.build()  # option values are checked by the parts themselves
        except TypeError:
            accepts = inspect.signature(FEATURES[config.features]).parameters
            wrong = ", ".join(k for k in feature_options if k not in accepts)
            raise ValueError(f'{wrong} does not apply to features = "{config.features}"') from None
        return config

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
    # The extractor's resolved settings too: a changed default never reuses an older matrix.
    settings = sorted((k, repr(v)) for k, v in vars(features).items())
    digest = hashlib.sha256(
        f"{config.features}|{sorted(config.feature_options.items())}|{settings}|{sklearn.__version__}".encode()
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


# Below this many stored values one thread scores faster than two.
_PARALLEL_FROM_NNZ = 1_000_000
_pool = None


def _row_blocks(X: sparse.csr_matrix) -> list[sparse.csr_matrix]:
    """X split by rows into one block per core, each with about the same number of values."""
    import itertools
    import os

    parts = min(os.cpu_count() or 1, 8)
    if parts < 2 or X.nnz < _PARALLEL_FROM_NNZ:
        return [X]
    cuts = np.searchsorted(X.indptr, np.linspace(0, X.nnz, parts + 1)[1:-1])
    bounds = [0, *sorted(set(int(c) for c in cuts)), X.shape[0]]
    return [X[start:stop] for start, stop in itertools.pairwise(bounds) if stop > start]


def _product(blocks: list[sparse.csr_matrix], weights: np.ndarray) -> np.ndarray:
    """blocks stacked @ weights, the blocks on threads (scipy's sparse product releases the
    GIL): the product streams the whole matrix, the largest part of a step."""
    global _pool
    if len(blocks) == 1:
        return blocks[0] @ weights
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=len(blocks) - 1, thread_name_prefix="screener-scores")
    rest = [_pool.submit(block.__matmul__, weights) for block in blocks[1:]]
    return np.concatenate([blocks[0] @ weights, *(job.result() for job in rest)])


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
        self._shared_blocks: list[sparse.csr_matrix] | None = None
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
            if self._shared_blocks is None:
                self._shared_blocks = _row_blocks(self.X[:, self._shared].tocsr())
            weights = self.classifier.weights[self._shared]
            self.scores = _product(self._shared_blocks, weights) + np.float32(self.classifier.intercept)
            # Labelled rows may lack their own terms' share; they are never ranked.
        else:
            self.scores = self.classifier.scores(self.X)
        self.fitted = True

    def next_order(self, unlabelled: np.ndarray) -> np.ndarray:
        """Unlabelled rows in screening order (random until the model can be trained)."""
        if not self.fitted:
            return self.rng.permutation(unlabelled)
        return self.query.order(self.scores, unlabelled, self.rng)
