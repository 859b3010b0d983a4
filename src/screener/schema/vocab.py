"""The values review.toml and searches/NAME.toml may hold, and the default they imply.

They live here, at the bottom of the layers, so that the modules acting on them (review,
prisma, search.pubmed, screening) import them from below."""

from __future__ import annotations

STAGES = ("title-abstract", "full-text")  # in screening order: full-text reads title-abstract
ROLES = ("screener", "resolver")
# The PRISMA 2020 sources a search can be: databases and registers, or other methods.
DATABASE_KINDS = ("database", "register")
OTHER_KINDS = ("website", "organisation", "citations")
KINDS = DATABASE_KINDS + OTHER_KINDS
SOURCES = ("file", "pubmed")
# Where `screener fulltext get` looks for open-access copies, in the order given.
FULLTEXT_SOURCES = ("europepmc", "unpaywall", "openalex")
DATETYPES = ("edat", "pdat", "mdat", "crdt")  # PubMed's dates a search can be limited by


def default_votes(active_screeners: int) -> int:
    """Votes that make a record final where review.toml says none: two, or one when the
    review has a single active screener."""
    return max(1, min(2, active_screeners))
