"""Ranking for prioritised screening: features, classifier and query strategy as swappable parts.

`Ranker` holds one review's (or one dataset's) models, by default two that take turns, each
with its feature matrix, computed once; `fit` retrains the model whose turn it is on the
labelled rows and `next_order` returns the unlabelled rows in the order to screen them. A
retrain-and-rerank step costs one model's fit on the labelled rows and one sparse product over
all rows.

A review of a few records, or of records that share every word (or have none), leaves a model
nothing to tell records apart by. That model steps aside (`Ranker.notice` says why) and the
records keep the order they were given in; ranking is an aid, never a reason to stop screening.
"""


from __future__ import annotations

from typing import Any

from .config import MEANING_MEMBER, MEANINGS, TITLE_ABSTRACT_PARTNER, TURNS, RankerConfig

__all__ = [
    "Ranker",
    "RankerConfig",
    "record_text",
    "FEATURES",
    "CLASSIFIERS",
    "QUERIES",
    "MEANINGS",
    "TURNS",
    "TITLE_ABSTRACT_PARTNER",
    "MEANING_MEMBER",
]

# Imported when first asked for: they bring numpy, scipy and scikit-learn (see config.py).
_LAZY = {
    "Ranker": "ranker",
    "record_text": "features",
    "FEATURES": "features",
    "CLASSIFIERS": "models",
    "QUERIES": "query",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
