"""The review directory: finding it, `review.toml`, the searches and their provenance, status.

Plain files are the database: `review.toml`, `searches/NAME.toml` + the raw export files, and
`labels/`. Everything derived (parsed records, dedup clusters, feature matrices, interrupted
searches) lives in the user's cache folder (`cache_root()`), never in the review, so a commit
cannot plant it; entries are keyed by the review's path and the sha256 of the files they came
from, and the folder can be deleted at any time.

The parts: `config` (review.toml: reviewers, stages, votes, the reviewer check), `searches`
(searches/NAME.toml: a search, its files and rounds), `parsed` (the cache of parsed exports),
`location` (finding the review a command runs in, making a new one), `folder` (the Review: its
lock, reading and importing exports, status).
"""

from .config import (
    DEFAULT_EXCLUSION_REASONS,
    MAX_TOML_BYTES,
    REVIEW_FILE,
    ReviewConfig,
    Reviewer,
    add_reviewer_hint,
    check_reviewer,
    parse_config,
    read_toml,
)
from .folder import (
    OVERLAP_REFUSED,
    ImportResult,
    Review,
)
from .location import (
    CACHE_DIR,
    DATA_FOLDERS,
    GIT_ATTRIBUTES,
    find_review,
    init_review,
)
from .parsed import (
    _RECORD_FIELDS,
    PARSE_CACHE_VERSION,
)
from .searches import (
    SEARCH_NAME_HINT,
    Search,
    SearchFile,
    environment_summary,
    import_time,
    now_iso,
)

__all__ = [
    "CACHE_DIR",
    "DATA_FOLDERS",
    "DEFAULT_EXCLUSION_REASONS",
    "GIT_ATTRIBUTES",
    "ImportResult",
    "MAX_TOML_BYTES",
    "OVERLAP_REFUSED",
    "PARSE_CACHE_VERSION",
    "REVIEW_FILE",
    "Review",
    "ReviewConfig",
    "Reviewer",
    "SEARCH_NAME_HINT",
    "Search",
    "SearchFile",
    "_RECORD_FIELDS",
    "add_reviewer_hint",
    "check_reviewer",
    "environment_summary",
    "find_review",
    "import_time",
    "init_review",
    "now_iso",
    "parse_config",
    "read_toml",
]
