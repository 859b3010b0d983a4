"""What review.toml and searches/NAME.toml may hold: every key's type and allowed values.

Both files travel through git, so a collaborator's typo or a hostile commit reaches every
command. Each file is checked in full when it is read: a wrong value is a ScreenerError naming
the file, the key path (`reviewers[2].role`, `files[0].sha256`), what was found and what to
write instead. Unknown keys are allowed (later versions add settings) and come back as
warnings, with the known key they probably misspell.

The schema is declarative: a `Table` of keys, each a `Spec` that checks one value and returns
it normalised (a TOML date becomes its ISO text). Rules that span keys (stage order, duplicate
names, a search's name against its file's) follow the table check. `parse_toml` parses the
text itself, refusing what would stall the TOML parser.

The parts: `vocab` the values both files may hold (stages, roles, kinds...); `specs` one
value's rule each, `pathnames` the values that become paths, `regex` the highlight terms,
`tables` arrays, tables and unknown keys; `review_file` and `search_file` the two files'
tables and cross-key rules; `describe` how values are shown in messages; `parse` the TOML.
"""

from __future__ import annotations

from .context import Checked
from .parse import MAX_KEY_PARTS, parse_toml
from .regex import regex_hazard
from .review_file import REVIEW, check_review
from .search_file import SEARCH, check_search
from .vocab import (
    DATABASE_KINDS,
    DATETYPES,
    FULLTEXT_SOURCES,
    KINDS,
    OTHER_KINDS,
    ROLES,
    SOURCES,
    STAGES,
    default_votes,
)

__all__ = [
    "Checked",
    "DATABASE_KINDS",
    "DATETYPES",
    "FULLTEXT_SOURCES",
    "KINDS",
    "MAX_KEY_PARTS",
    "OTHER_KINDS",
    "REVIEW",
    "ROLES",
    "SEARCH",
    "SOURCES",
    "STAGES",
    "check_review",
    "check_search",
    "default_votes",
    "parse_toml",
    "regex_hazard",
]
