"""What a ranking is made of, as review.toml's [ranking] table says: `RankerConfig`.

Light on purpose: every command reads review.toml, and checking its [ranking] table must not
import numpy, scipy and scikit-learn (0.4 s) before the command has begun. The parts are
imported when the Ranker builds a configuration's parts (`ranker.build_parts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .question import QUESTION_FADE

# The parts' names (ranking.features.FEATURES, models.CLASSIFIERS, query.QUERIES: a test keeps
# them the same), and which of review.toml's feature options each extractor takes, with the
# values of index_terms it reads (the extractors check theirs with these).
FEATURE_NAMES = ("tfidf", "tfidf-words-chars", "tfidf-two-views", "tfidf-one-bag", "embedding")
CLASSIFIER_NAMES = ("svm", "logistic", "nb")
QUERY_NAMES = ("max", "uncertainty", "random")
INDEX_TERMS = {
    "tfidf": ("words", "ignore"),
    "tfidf-two-views": ("words", "separate", "ignore"),
    "tfidf-one-bag": ("words", "ignore"),
    "embedding": ("words", "ignore"),
}
TAKES_INDEX_WEIGHT = ("tfidf-two-views",)


def check_index_terms(value: Any, allowed: tuple[str, ...]) -> str:  # noqa: ANN401 - from review.toml
    if not isinstance(value, str) or value not in allowed:
        readers = [name for name, values in INDEX_TERMS.items() if isinstance(value, str) and value in values]
        named = " or ".join(f'"{name}"' for name in readers)
        elsewhere = f" ({_shown(value)} is for features = {named})" if readers else ""
        raise ValueError(f"index_terms must be {' or '.join(allowed)}, not {_shown(value)}{elsewhere}")
    return value


def check_index_weight(value: Any) -> float:  # noqa: ANN401 - from review.toml
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"index_weight must be a number from 0 up, not {_shown(value)}")
    return value


def _shown(value: object) -> str:
    """A value from review.toml in an error: its repr, cut short (it may be a megabyte)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# RankerConfig.meaning and .turns, as review.toml's [ranking] may set them.
MEANINGS = ("off", "turns")
TURNS = ("round", "bandit")


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
    # Take turns with TITLE_ABSTRACT_PARTNER: each step one of the two models is retrained and
    # picks the next record. A record comes up about when the model that rates it higher
    # reaches it, so neither model's blind spot costs much: with index terms misleading one
    # model on one review, it is the other's turn half the time. Alone the default model is
    # +2.1 WSS@95 points over elas_u4 on average and 14.5 below it on one dataset; in turns
    # with the partner +2.4 on average and at most 3.1 below (benchmarks/ranking_bench.py,
    # final inclusions; on title/abstract labels +1.3 and at most 4.0 below).
    interleave: bool = True
    # How fast the review's question fades as a training example: its weight against one real
    # inclusion is fade / (fade + inclusions) (question.question_weight); 0 keeps it for the
    # cold start only.
    question_fade: float = QUESTION_FADE
    # Pretrained meaning (ranking.embeddings): "off"; "turns", a third model reading the records'
    # static embeddings takes turns with the two. (Appended to both models' rows as more
    # columns, weight 0.5, it lost 1.2 WSS@95 points on average and 30 on one dataset: seed 0,
    # with the question, benchmarks/ranking_variants.py.)
    meaning: str = "off"
    # Whose turn it is: "round", each model in turn; "bandit", the model whose recent picks were
    # relevant more often, drawn by Thompson sampling (each model's picks a Beta posterior).
    turns: str = "round"

    def members(self) -> list[RankerConfig]:
        """The models that take turns: this one alone, or this one and the partner (and the
        model of meaning, with meaning = "turns")."""
        alone = replace(self, interleave=False)
        if not self.interleave:
            return [alone]
        if self.meaning == "partner":  # the model of meaning instead of the title-abstract one
            return [alone, MEANING_MEMBER]
        if self.meaning == "turns":
            # The model of meaning reads the index terms when this model does.
            terms = self.feature_options.get("index_terms", "words")
            meaning = (
                MEANING_MEMBER
                if terms == "words"
                else replace(MEANING_MEMBER, feature_options={"index_terms": "ignore"})
            )
            return [alone, TITLE_ABSTRACT_PARTNER, meaning]
        return [alone, TITLE_ABSTRACT_PARTNER]

    @classmethod
    def from_table(cls, table: dict) -> RankerConfig:
        """From review.toml's [ranking] table: `features`, `classifier`, `query`, and the
        features' options `index_terms` ("words", "ignore"; "separate" for two views) and
        `index_weight` (two views). Raises ValueError naming the key that is wrong."""
        parts = {"features": FEATURE_NAMES, "classifier": CLASSIFIER_NAMES, "query": QUERY_NAMES}
        options = ("index_terms", "index_weight")
        keys = [*parts, *options, "interleave", "meaning", "turns"]
        if not isinstance(table, dict):
            raise ValueError(f"[ranking] must be a table with keys {', '.join(keys)}")
        unknown = sorted(set(table) - set(keys))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; keys are {', '.join(keys)}")
        interleave = table.get("interleave", cls.interleave)
        if not isinstance(interleave, bool):
            raise ValueError(f"interleave must be true or false, not {_shown(interleave)}")
        chosen = {}
        for key, known in parts.items():
            value = table.get(key, getattr(cls, key))
            if not isinstance(value, str) or value not in known:  # a list or table is no part name
                raise ValueError(f"{key} must be one of {', '.join(known)}, not {_shown(value)}")
            chosen[key] = value
        for key, known in (("meaning", MEANINGS), ("turns", TURNS)):
            value = table.get(key, getattr(cls, key))
            if not isinstance(value, str) or value not in known:
                raise ValueError(f"{key} must be one of {', '.join(known)}, not {_shown(value)}")
            chosen[key] = value
        if not interleave and (chosen["meaning"] != "off" or chosen["turns"] != "round"):
            # One model alone has nobody to take turns with: the setting would do nothing.
            said = "meaning" if chosen["meaning"] != "off" else "turns"
            raise ValueError(f'{said} = "{chosen[said]}" needs interleave = true (the models take turns)')
        if chosen["features"] == "embedding" and chosen["classifier"] == "nb":
            raise ValueError(
                'classifier = "nb" reads word counts; with features = "embedding" use "svm" or "logistic"'
            )
        feature_options = {k: table[k] for k in options if k in table}
        features = chosen["features"]
        takes = {"index_terms": features in INDEX_TERMS, "index_weight": features in TAKES_INDEX_WEIGHT}
        wrong = ", ".join(k for k in feature_options if not takes[k])
        if wrong:
            raise ValueError(f'{wrong} does not apply to features = "{features}"')
        if "index_terms" in feature_options:
            check_index_terms(feature_options["index_terms"], INDEX_TERMS[features])
        if "index_weight" in feature_options:
            check_index_weight(feature_options["index_weight"])
        return cls(**chosen, feature_options=feature_options, interleave=interleave)

    def to_table(self) -> dict:
        """This configuration as a [ranking] table (what `rank --json` reports); from_table
        reads it back when its feature options are ones review.toml may set."""
        parts = {"features": self.features, "classifier": self.classifier, "query": self.query}
        turns = {"interleave": self.interleave, "meaning": self.meaning, "turns": self.turns}
        return parts | turns | self.feature_options



# ASReview's elas_u4 rebuilt from screener's parts: word 1-2-grams of title and abstract only
# (stop words kept, index terms left out), linear SVM C=0.11, balance 9.8. A strong model of
# another reading, and blind to index terms: the default's partner.
TITLE_ABSTRACT_PARTNER = RankerConfig(
    features="tfidf", feature_options={"stop_words": None, "index_terms": "ignore"}, interleave=False
)


# The records' static embeddings alone, one linear SVM over them.
MEANING_MEMBER = RankerConfig(features="embedding", interleave=False)

