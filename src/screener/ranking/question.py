"""The review's question as text the ranking can read: what a review knows before its first decision.

Every review states its question (review.toml `question`, its `title`, its `criteria`) and saves
its search strategy (searches/*.toml `query`). Before the first inclusion the records are ranked
by their similarity to this text; afterwards it is one more relevant example whose weight fades as
real inclusions arrive (see `question_weight` and ranking.Ranker).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Field tags: PubMed [tiab], [MeSH Terms], [mh:noexp]; Ovid .ti,ab. / .mp.; Scopus TITLE-ABS-KEY(...).
_FIELD_TAG = re.compile(
    r"\[[^\]]*\]|\.(?:[a-z]{2,3},?)+\.|\b(?:TITLE-ABS-KEY|TITLE-ABS|TITLE|ABS|KEY|TS|TI|AB)\s*=?\s*(?=\()"
)
# Boolean and proximity operators: AND, OR, NOT, NEAR/3, W/5, adj3, ~2 (upper case, as databases write them).
_OPERATORS = re.compile(r"\b(?:AND|OR|NOT|NEAR(?:/\d+)?|W/\d+|PRE/\d+|ADJ\d*|adj\d*)\b|~\d+")
# Ovid's "exp Term/" and "Term/" subject headings, line references "1 or 2", "#3".
_OVID = re.compile(r"\bexp\s+|/(?=\s|$)|#\d+|^\s*\d+\.?\s+", re.MULTILINE)
_PUNCTUATION = re.compile(r"[()\"*?$:{}=]")
# What a query excludes is no evidence of relevance: NOT and the term or group after it.
_EXCLUDED = re.compile(r"\bNOT\s+(?:\((?:[^()]|\([^()]*\))*\)|\"[^\"]*\"(?:\[[^\]]*\])?|\S+)")


def query_words(query: str) -> str:
    """A saved search query as plain words: field tags, boolean and proximity operators,
    truncation and quotes removed, and what NOT excludes left out
    ('("liver"[tiab] OR hepat*) AND resect* NOT animals[mh]' -> 'liver hepat resect')."""
    text = _EXCLUDED.sub(" ", query)
    text = _FIELD_TAG.sub(" ", text)
    text = _OVID.sub(" ", text)
    text = _OPERATORS.sub(" ", text)
    text = _PUNCTUATION.sub(" ", text)
    return " ".join(text.split())


def question_text(
    question: str = "", title: str = "", criteria: str = "", queries: Iterable[str] = ()
) -> str:
    """One text for the ranking to read: the question, the title, the inclusion criteria and
    the words of each search query ("" when the review states none of them)."""
    parts = [question, title, criteria, *(query_words(q) for q in queries)]
    return "\n".join(p.strip() for p in parts if p and p.strip())


def review_question(review: Any) -> str:  # noqa: ANN401 - review.Review (imported lazily)
    """The question text of a review: review.toml's question, title and criteria, and the
    queries of its searches. A search file that cannot be read gives no words (check says why)."""
    config = review.config
    criteria = config.raw.get("criteria", "")
    queries: list[str] = []
    try:
        queries = [s.query for s in review.searches() if s.query]
    except Exception:  # noqa: BLE001 - ranking is an aid: a bad search file is check's to report
        queries = []
    if not (config.question or criteria):  # a title and queries alone are no question
        return ""
    criteria = criteria if isinstance(criteria, str) else ""
    return question_text(config.question, config.title, criteria, queries)


# How fast the question fades as a training example (RankerConfig.question_fade). Tried 0, 1, 5
# and 20 (benchmarks/ranking_variants.py, seed 0, 17 datasets): chosen on the 14 Cohen sets fade 1
# led by 0.5 WSS@95 points with 1+1 priors; on the three others, on title and abstract only, and
# from the question alone the four were within 0.3 points of each other. Noise: 5 is kept.
QUESTION_FADE = 5.0


def question_weight(inclusions: int, fade: float = QUESTION_FADE) -> float:
    """The question's weight in training, against one real inclusion's: 1 before any, then
    fading as fade / (fade + inclusions): by then the reviewer's own inclusions say more
    (fade 0: the question ranks only until the first inclusion)."""
    return 1.0 if inclusions == 0 else fade / (fade + inclusions)
