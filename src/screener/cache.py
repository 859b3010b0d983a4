"""Where derived state lives: the user's cache folder, outside every review.

Parsed records, dedup clusters and TF-IDF matrices are rebuilt from the review's files when
missing; keeping them out of the review means nothing committed can plant a cache entry. This
module sits at the bottom of the layers so every module that keeps a cache can ask it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Where derived state lives: $SCREENER_CACHE_DIR, else $XDG_CACHE_HOME/screener, else
    ~/.cache/screener. Outside every review, so nothing committed can plant a cache entry."""
    explicit = os.environ.get("SCREENER_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "screener"
