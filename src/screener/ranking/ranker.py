"""The Ranker: one review's (or one dataset's) models, their feature matrices and their turns
(see the package's docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from .config import RankerConfig
from .features import FEATURES, Progress
from .models import CLASSIFIERS
from .query import QUERIES
from .question import question_weight


def build_parts(config: RankerConfig):  # noqa: ANN201
    """A configuration's parts: its feature extractor, classifier and query strategy."""
    return (
        FEATURES[config.features](**config.feature_options),
        CLASSIFIERS[config.classifier](**config.classifier_options),
        QUERIES[config.query](),
    )


def _feature_matrix(  # noqa: ANN202
    features,  # noqa: ANN001
    texts: Sequence[str],
    config: RankerConfig,
    cache_dir: Path | None,
    progress: Progress | None = None,
):
    """The feature matrix, from `cache_dir` when the same texts and settings made it before
    (TF-IDF of 20,000 records takes seconds; loading it, a fraction of one). `progress` hears
    of the build, when there is one."""
    import hashlib

    import sklearn

    if cache_dir is None:
        return features.fit_transform(texts, progress).astype(np.float32)
    # The extractor's resolved settings too: a changed default never reuses an older matrix.
    settings = sorted((k, repr(v)) for k, v in vars(features).items())
    digest = hashlib.sha256(
        f"{config.features}|{sorted(config.feature_options.items())}|{settings}|{sklearn.__version__}".encode()
    )
    for text in texts:
        digest.update(text.encode("utf-8", "replace"))
        digest.update(b"\0")
    dense = getattr(features, "dense", False)  # embeddings: a plain array, kept as .npy
    path = Path(cache_dir) / f"{digest.hexdigest()[:32]}.{'npy' if dense else 'npz'}"
    if path.is_file() and not path.is_symlink():
        try:
            if dense:
                X = np.load(path, allow_pickle=False)
                # What the extractor makes and nothing else: finite float32, its width, a row each.
                width = getattr(features, "width", None)
                shaped = X.ndim == 2 and X.shape[0] == len(texts) and (width is None or X.shape[1] == width)
                if X.dtype == np.float32 and shaped and np.isfinite(X).all():
                    return X
            else:
                return sparse.load_npz(path).tocsr()
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            pass
    X = features.fit_transform(texts, progress).astype(np.float32)
    try:
        import os
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        # A fresh temporary file of our own (O_EXCL): a name planted in the folder, a symlink
        # above all, is never written through.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".building-", suffix=path.suffix)
        try:
            with os.fdopen(handle, "wb") as file:
                if dense:
                    np.save(file, X, allow_pickle=False)
                else:
                    sparse.save_npz(file, X, compressed=False)
            Path(temporary).replace(path)
        finally:
            Path(temporary).unlink(missing_ok=True)
        # Keep the few latest matrices (each model of a Ranker has its own): each change of
        # the records makes new ones.
        kept = [*path.parent.glob("*.npz"), *path.parent.glob("*.npy")]
        older = sorted(kept, key=lambda f: f.lstat().st_mtime, reverse=True)[6:]
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


class _LabelledRows:
    """The labelled rows of X as a narrow matrix: only the columns labelled rows have ever
    had, numbered in order of first use. Each row is renumbered once, when first labelled, so
    a step costs a concatenation instead of slicing X and sorting the rows' column indices.
    A column whose rows were all unlabelled again stays, empty: its weight is then zero."""

    def __init__(self, X: sparse.csr_matrix) -> None:
        self.X = X
        self.number = np.full(X.shape[1], -1, dtype=np.int32)  # column -> narrow column
        self.columns: list[np.ndarray] = []  # narrow column -> column, in pieces
        self.width = 0
        self.rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _row(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        if row not in self.rows:
            start, stop = self.X.indptr[row], self.X.indptr[row + 1]
            columns = self.X.indices[start:stop]
            new = columns[self.number[columns] < 0]  # a CSR row holds each column once
            self.number[new] = np.arange(self.width, self.width + len(new), dtype=np.int32)
            self.columns.append(new)
            self.width += len(new)
            # Sorted within the row, once: a matrix of sorted rows is canonical, which spares
            # scikit-learn a sort of the whole narrow matrix on every fit.
            narrow = self.number[columns]
            order = np.argsort(narrow, kind="stable")
            self.rows[row] = (narrow[order], self.X.data[start:stop][order])
        return self.rows[row]

    def matrix(self, labelled: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The labelled rows, in the order given, and the column of X behind each narrow column."""
        parts = [self._row(int(row)) for row in labelled]
        lengths = np.fromiter((len(p[0]) for p in parts), dtype=np.int64, count=len(parts))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([p[0] for p in parts])
        data = np.concatenate([p[1] for p in parts])
        if len(self.columns) > 1:
            self.columns = [np.concatenate(self.columns)]
        narrow = sparse.csr_matrix((data, indices, indptr), shape=(len(parts), self.width))
        narrow.has_canonical_format = True  # rows sorted, each column once per row
        return narrow, self.columns[0]


class _Model:
    """One model of a Ranker: its feature matrix, classifier and the state of its fast step."""

    def __init__(
        self,
        texts: Sequence[str],
        config: RankerConfig,
        cache_dir: Path | None = None,
        progress: Progress | None = None,
        question: str = "",
    ) -> None:
        self.config = config
        features, self.classifier, self.query = build_parts(config)
        # Why this model cannot rank these texts (no term tells any two records apart), or "".
        self.problem = ""
        self.n = len(texts)
        # The question is one more row after the records, read with the same vocabulary and
        # weights: a relevant example that needs no label.
        self.question_row = self.n if question else None
        corpus = [*texts, question] if question else texts
        try:
            # float32 halves the memory the per-step product streams through; scores need no more.
            self.X_all: sparse.csr_matrix = _feature_matrix(
                features, corpus, self.config, cache_dir, progress
            )
        except ValueError as exc:  # scikit-learn: empty vocabulary, or no terms left after max_df
            self.problem = str(exc)
            self.X_all = sparse.csr_matrix((len(corpus), 0), dtype=np.float32)
        self.X = self.X_all[: self.n] if question else self.X_all
        self.similarity: np.ndarray | None = None  # each record's cosine with the question
        self.scores = np.zeros(self.X.shape[0])
        self.fitted = False
        # Dense features (embeddings: a few hundred columns, every one used by every row) are
        # fitted and scored as arrays: a BLAS product, no sparse bookkeeping.
        self.dense = isinstance(self.X_all, np.ndarray)
        if self.dense:
            if not self.X.any():  # no record has a token the table knows
                self.problem = "no record has a word the embeddings know"
                self.X_all = self.X_all[:, :0]
                self.X = self.X_all[: self.n]
            return
        self.X_all = self.X_all.tocsr()
        # Columns of terms in one record only. For a linear model their weight is zero unless
        # that record is labelled, and then only that labelled record's score changes: the
        # unlabelled records' scores come exactly from the other columns, a smaller product.
        document_frequency = np.bincount(self.X_all.indices, minlength=self.X_all.shape[1])
        self._shared = np.flatnonzero(document_frequency >= 2)
        # Each column's position among the shared ones (-1: not shared), to place a fit's
        # weights straight into the scoring vector.
        self._shared_position = np.full(self.X_all.shape[1], -1, dtype=np.int32)
        self._shared_position[self._shared] = np.arange(len(self._shared), dtype=np.int32)
        self._shared_blocks: list[sparse.csr_matrix] | None = None
        self._labelled_rows = _LabelledRows(self.X_all)
        self._weights = np.zeros(len(self._shared), dtype=np.float32)
        self._placed = np.zeros(0, dtype=np.int32)

    def question_similarity(self) -> np.ndarray:
        """Each record's cosine similarity with the question (rows are unit length)."""
        if self.similarity is None:
            row = self.X_all[self.question_row]
            product = self.X @ row if self.dense else (self.X @ row.T).todense()
            self.similarity = np.asarray(product).ravel().astype(np.float32)
        return self.similarity

    def fit(self, labelled: np.ndarray, y: np.ndarray, question_weight: float = 0.0) -> None:
        """Retrain on the labelled rows (needs at least one relevant and one irrelevant, and
        some term among them). With a question and `question_weight` > 0 the question is one
        more relevant row, weighing that much against a real one; with no irrelevant row yet
        the records are ranked by their similarity with the question and the inclusions."""
        if self.X.shape[1] == 0:
            self.fitted = False
            return
        scale = None
        if self.question_row is not None and question_weight > 0:
            if not (y == 0).any():  # nothing to tell the relevant from: similarity only
                similarity = self.question_similarity() * question_weight
                if len(labelled):
                    similarity = similarity + np.asarray(self.X @ self.X[labelled].sum(axis=0).T).ravel()
                self.scores, self.fitted = similarity.astype(np.float32), bool(similarity.any())
                return
            labelled = np.append(labelled, self.question_row)
            y = np.append(y, 1)
            scale = np.ones(len(y))
            scale[-1] = question_weight
        if len(set(y.tolist())) < 2:
            self.fitted = False
            return
        if self.dense and hasattr(self.classifier, "fit_compact"):
            width = self.X_all.shape[1]
            self.classifier.fit_compact(self.X_all[labelled], y, np.arange(width), width, scale)
            self.scores = self.X @ self.classifier.coef + np.float32(self.classifier.intercept)
        elif getattr(self.classifier, "exact_zero_for_unseen", False):
            narrow, columns = self._labelled_rows.matrix(labelled)
            if narrow.shape[1] == 0:  # the labelled records have no term at all: nothing to learn
                self.fitted = False
                return
            if scale is None:
                self.classifier.fit_compact(narrow, y, columns, self.X_all.shape[1])
            else:
                self.classifier.fit_compact(narrow, y, columns, self.X_all.shape[1], scale)
            if self._shared_blocks is None:
                self._shared_blocks = _row_blocks(self.X_all[:, self._shared].tocsr())
            # The scoring weights live in one vector across steps (a fresh one costs page faults
            # every step); only the entries the last fit set are cleared.
            position = self._shared_position[self.classifier.used]
            kept = position >= 0
            self._weights[self._placed] = 0.0
            self._placed = position[kept]
            self._weights[self._placed] = self.classifier.coef[kept]
            self.scores = _product(self._shared_blocks, self._weights) + np.float32(self.classifier.intercept)
            if self.question_row is not None:
                self.scores = self.scores[: self.n]
            # Labelled rows may lack their own terms' share; they are never ranked.
        else:
            self.classifier.fit(self.X_all[labelled], y)
            self.scores = self.classifier.scores(self.X)
        self.fitted = True


class Ranker:
    """Ranks one review's (or one dataset's) records for screening, retrained as labels come.

    With `config.interleave` two models take turns: each `fit` retrains the one whose turn it
    is (both, the first time), and its scores rank the records until the next fit. A step
    costs one model's fit and product.
    """

    def __init__(
        self,
        texts: Sequence[str],
        config: RankerConfig | None = None,
        seed: int = 0,
        cache_dir: Path | None = None,
        progress: Progress | None = None,
        question: str = "",
    ) -> None:
        """`progress(done, total)` is called while feature matrices are built (not when they
        come from `cache_dir`). `question`: the review's question (ranking.question), which
        ranks the records before the first inclusion and is then a relevant example whose
        weight fades (question.question_weight)."""
        self.config = config or RankerConfig()
        self.question = question.strip()
        members = self.config.members()

        def part(k: int) -> Progress | None:  # member k's share of one bar over all builds
            if progress is None:
                return None
            return lambda done, total: progress(k * total + done, len(members) * total)

        self.models = [_Model(texts, c, cache_dir, part(k), self.question) for k, c in enumerate(members)]
        # Said to the reviewer when no model can rank these records (they keep their order).
        self.notice = (
            f"ranking is off: no word tells these {len(texts)} records apart; they stay in their order"
            if all(m.problem for m in self.models)
            else ""
        )
        self.query = self.models[0].query
        self.X = self.models[0].X
        self.rng = np.random.RandomState(seed)
        self.scores = np.zeros(self.X.shape[0])
        self.fitted = False
        self.turn = 0  # the model the next fit retrains
        # "bandit" turns: each model's recent picks, 1 relevant, 0 not; the model in charge of
        # the current ranking; what was labelled when it took charge.
        self.outcomes: list[list[int]] = [[] for _ in self.models]
        self.in_charge: int | None = None
        self.seen = 0
        self.draws = np.random.RandomState((seed + 1) % 2**32)  # apart from rng: its draws stay as they were

    def fit(self, labelled: np.ndarray, y: np.ndarray) -> None:
        """Retrain on the labelled rows (needs at least one relevant and one irrelevant, or
        a question)."""
        labelled, y = np.asarray(labelled, dtype=np.int64), np.asarray(y, dtype=int)
        if self.question:
            weight = question_weight(int(y.sum()), self.config.question_fade)
            # Before the first inclusion the question alone ranks: its relevance, not a model
            # trained against exclusions that are, by then, the records most like it.
            if not (y == 1).any():
                self._rank_by_question(labelled[:0], y[:0], weight)
                return
            if not (y == 0).any():
                self._rank_by_question(labelled, y, weight)
                return
        elif len(set(y.tolist())) < 2:
            self.fitted = False
            return
        else:
            weight = 0.0
        if self.config.turns == "bandit":
            self._credit(y)
            self.turn = self._draw_turn()
        model = self.models[self.turn]
        for other in self.models:
            if other is model or not other.fitted:
                other.fit(labelled, y, weight)
        self.in_charge, self.seen = self.turn, len(y)
        self.turn = (self.turn + 1) % len(self.models)
        # A model that cannot learn from these records leaves its turn to one that can.
        usable = model if model.fitted else next((m for m in self.models if m.fitted), None)
        if usable is None:
            self.fitted = False
            return
        self.scores, self.fitted = usable.scores, True

    # How many of a model's latest picks its Beta posterior counts: the tail of a review is not
    # its start, and the model that found the first inclusions need not find the last.
    _RECENT_PICKS = 50

    def _credit(self, y: np.ndarray) -> None:
        """The decisions since the last fit were made on the ranking of the model then in
        charge: each is one of its picks (1 relevant, 0 not)."""
        if self.in_charge is not None and len(y) > self.seen:
            picks = self.outcomes[self.in_charge]
            picks.extend(int(v) for v in y[self.seen :])
            del picks[: -self._RECENT_PICKS]

    def _draw_turn(self) -> int:
        """Thompson sampling: a draw from each model's Beta(1 + relevant, 1 + not) over its
        recent picks; the highest draw picks next."""
        draws = [self.draws.beta(1 + sum(p), 1 + len(p) - sum(p)) for p in self.outcomes]
        return int(np.argmax(draws))

    def _rank_by_question(self, labelled: np.ndarray, y: np.ndarray, weight: float) -> None:
        """No inclusion yet, or no exclusion yet: every model's similarity with the question
        (and the inclusions), summed, ranks the records."""
        usable = [m for m in self.models if not m.problem]
        for model in usable:
            model.fit(labelled, y, weight)
        usable = [m for m in usable if m.fitted]
        if not usable:
            self.fitted = False
            return
        self.scores = np.sum([m.scores for m in usable], axis=0)
        self.fitted = True
        for model in usable:
            model.fitted = False  # the first fit with an irrelevant record trains every model

    def next_order(self, unlabelled: np.ndarray) -> np.ndarray:
        """Unlabelled rows in screening order (random until the model can be trained)."""
        if not self.fitted:
            return self.rng.permutation(unlabelled)
        return self.query.order(self.scores, unlabelled, self.rng)
