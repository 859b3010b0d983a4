"""Feature extractors: records (or texts) to a sparse matrix, fitted once per review."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scipy import sparse

from ..records import Record


def record_text(record: Record) -> str:
    """Title, abstract and index terms: what the model reads."""
    parts = [record.title, record.abstract, " ".join(record.keywords), " ".join(record.mesh)]
    return " ".join(p for p in parts if p)


class FeatureExtractor(Protocol):
    name: str

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix: ...


class Tfidf:
    """TF-IDF of word 1-2-grams with sublinear term frequency (ASReview's "elas" features)."""

    name = "tfidf"

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 2),
        max_df: float = 0.95,
        min_df: int = 1,
        sublinear_tf: bool = True,
        stop_words: str | None = "english",
    ) -> None:
        self.params = dict(
            ngram_range=ngram_range,
            max_df=max_df,
            min_df=min_df,
            sublinear_tf=sublinear_tf,
            stop_words=stop_words,
        )

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(strip_accents="unicode", **self.params)
        return vectorizer.fit_transform(list(texts)).tocsr()


class TfidfWordsAndChars:
    """Word 1-2-grams plus character 3-5-grams within words: robust to spelling variants
    (British/American, hyphenation) and to the short texts of records without abstracts."""

    name = "tfidf-words-chars"

    def __init__(self, char_weight: float = 0.5) -> None:
        self.char_weight = char_weight

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        words = TfidfVectorizer(
            stop_words="english",
            strip_accents="unicode",
            ngram_range=(1, 2),
            sublinear_tf=True,
            max_df=0.95,
            min_df=2,
        ).fit_transform(list(texts))
        chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=3,
            max_df=0.95,
            strip_accents="unicode",
        ).fit_transform(list(texts))
        stacked = sparse.hstack([words, chars * self.char_weight]).tocsr()
        return normalize(stacked)


class TfidfTwoViews:
    """Word 1-2-grams twice: with English stop words removed (bigrams across them: "resection
    liver") and kept (bigrams as written: "of liver"). Neither view wins on every review; one
    model over both does not have to choose."""

    name = "tfidf-two-views"

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        from sklearn.preprocessing import normalize

        without = Tfidf(stop_words="english").fit_transform(texts)
        kept = Tfidf(stop_words=None).fit_transform(texts)
        return normalize(sparse.hstack([without, kept]).tocsr())


FEATURES = {"tfidf": Tfidf, "tfidf-words-chars": TfidfWordsAndChars, "tfidf-two-views": TfidfTwoViews}
