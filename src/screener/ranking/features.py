"""Feature extractors: records (or texts) to a sparse matrix, fitted once per review."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from scipy import sparse

from ..records import Record
from .config import INDEX_TERMS, check_index_terms, check_index_weight
from .embeddings import StaticEmbeddingFeatures

# Separates a record's words (title, abstract) from its index terms (keywords, MeSH) in the
# text the extractors receive. Not a word character, so word tokenisers never see it.
INDEX_TERMS_MARK = "\x1f"


def record_text(record: Record) -> str:
    """Title and abstract, then the index terms (keywords, MeSH) after INDEX_TERMS_MARK,
    separated by "; ": what the model reads."""
    words = " ".join(p for p in (record.title, record.abstract) if p)
    terms = "; ".join(t for t in [*record.keywords, *record.mesh] if t)
    return f"{words} {INDEX_TERMS_MARK} {terms}" if terms else words


def _texts_to_read(texts: Sequence[str], index_terms: str) -> list[str]:
    """The texts with their index terms read as words ("words"), or without them."""
    return list(texts) if index_terms == "words" else [words_of(t) for t in texts]


def words_of(text: str) -> str:
    """The title and abstract part of a record's text."""
    return text.partition(INDEX_TERMS_MARK)[0]


def index_terms_of(text: str) -> list[str]:
    """The index terms of a record's text, each normalised as one token: lower case, without
    MeSH's major-topic star or its subheading ("*Liver Neoplasms/surgery" -> "liver neoplasms")."""
    terms = text.partition(INDEX_TERMS_MARK)[2]
    normalised = (t.strip().lstrip("*").split("/")[0].strip().lower() for t in terms.split(";"))
    return [t for t in normalised if t]


# Called with (texts read, texts to read) while features are built: the first build on a large
# review takes tens of seconds.
Progress = Callable[[int, int], None]


class _Reading:
    """Counts the texts a feature build's vectorizers read, over all their passes, for a
    progress bar: a vectorizer reads its input once, in order."""

    def __init__(self, progress: Progress | None, n_texts: int, passes: int = 1) -> None:
        self.progress, self.total, self.done = progress, n_texts * passes, 0

    def __call__(self, texts: Iterable) -> Iterable:
        return texts if self.progress is None else self._counted(texts)

    def _counted(self, texts: Iterable) -> Iterator:
        if self.done == 0:
            self.progress(0, self.total)  # the total, before the first text is read
        for text in texts:
            yield text
            self.done += 1
            if self.done % 256 == 0 or self.done == self.total:
                self.progress(self.done, self.total)


class FeatureExtractor(Protocol):
    name: str

    def fit_transform(self, texts: Sequence[str], progress: Progress | None = None) -> sparse.csr_matrix: ...


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
        index_terms: str = "words",
    ) -> None:
        self.params = dict(
            ngram_range=ngram_range,
            max_df=max_df,
            min_df=min_df,
            sublinear_tf=sublinear_tf,
            stop_words=stop_words,
        )
        self.index_terms = check_index_terms(index_terms, INDEX_TERMS[self.name])

    def fit_transform(self, texts: Sequence[str], progress: Progress | None = None) -> sparse.csr_matrix:
        return self._fit(texts, _Reading(progress, len(texts)))

    def _fit(self, texts: Sequence[str], reading: _Reading) -> sparse.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(strip_accents="unicode", **self.params)
        return vectorizer.fit_transform(reading(_texts_to_read(texts, self.index_terms))).tocsr()


class TfidfWordsAndChars:
    """Word 1-2-grams plus character 3-5-grams within words: robust to spelling variants
    (British/American, hyphenation) and to the short texts of records without abstracts."""

    name = "tfidf-words-chars"

    def __init__(self, char_weight: float = 0.5) -> None:
        self.char_weight = char_weight

    def fit_transform(self, texts: Sequence[str], progress: Progress | None = None) -> sparse.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        reading = _Reading(progress, len(texts), passes=2)
        words = TfidfVectorizer(
            stop_words="english",
            strip_accents="unicode",
            ngram_range=(1, 2),
            sublinear_tf=True,
            max_df=0.95,
            min_df=2,
        ).fit_transform(reading(texts))
        chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=3,
            max_df=0.95,
            strip_accents="unicode",
        ).fit_transform(reading(texts))
        stacked = sparse.hstack([words, chars * self.char_weight]).tocsr()
        return normalize(stacked)


class TfidfTwoViews:
    """Word 1-2-grams twice: with English stop words removed (bigrams across them: "resection
    liver") and kept (bigrams as written: "of liver"). Neither view wins on every review; one
    model over both does not have to choose.

    Index terms (keywords, MeSH) are, by `index_terms`: "words", read as more words of the
    text; "separate", a third view of whole terms scaled by `index_weight`; "ignore", left out.
    """

    name = "tfidf-two-views"

    def __init__(self, index_terms: str = "words", index_weight: float = 0.5) -> None:
        self.index_terms = check_index_terms(index_terms, INDEX_TERMS[self.name])
        self.index_weight = check_index_weight(index_weight)

    def fit_transform(self, texts: Sequence[str], progress: Progress | None = None) -> sparse.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        words = _texts_to_read(texts, self.index_terms)
        terms = [index_terms_of(t) for t in texts] if self.index_terms == "separate" else []
        reading = _Reading(progress, len(texts), passes=3 if any(terms) else 2)
        views = [
            Tfidf(stop_words="english")._fit(words, reading),
            Tfidf(stop_words=None)._fit(words, reading),
        ]
        if any(terms):
            # Whole terms as tokens ("drug therapy, combination" is one feature, not three words).
            vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True, max_df=0.95)
            views.append(vectorizer.fit_transform(reading(terms)) * self.index_weight)
        return normalize(sparse.hstack(views).tocsr())


class TfidfOneBag:
    """The n-grams of both readings of TfidfTwoViews (stop words removed and kept) in one bag:
    an n-gram both readings produce counts twice. Close to two views in what it weighs, with
    fewer stored values (the readings share most of their n-grams), so a cheaper step."""

    name = "tfidf-one-bag"

    def __init__(self, index_terms: str = "words") -> None:
        self.index_terms = check_index_terms(index_terms, INDEX_TERMS[self.name])

    def fit_transform(self, texts: Sequence[str], progress: Progress | None = None) -> sparse.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer

        settings = dict(ngram_range=(1, 2), strip_accents="unicode")
        removed = TfidfVectorizer(stop_words="english", **settings).build_analyzer()
        kept = TfidfVectorizer(stop_words=None, **settings).build_analyzer()
        words = _texts_to_read(texts, self.index_terms)
        self.vectorizer = TfidfVectorizer(
            analyzer=lambda doc: removed(doc) + kept(doc), sublinear_tf=True, max_df=0.95
        )
        return self.vectorizer.fit_transform(_Reading(progress, len(texts))(words)).tocsr()


FEATURES = {
    "tfidf": Tfidf,
    "tfidf-words-chars": TfidfWordsAndChars,
    "tfidf-two-views": TfidfTwoViews,
    "tfidf-one-bag": TfidfOneBag,
    "embedding": StaticEmbeddingFeatures,
}
