"""What review.toml says: the reviewers and their roles, stages, votes, exclusion reasons, and the
one check of a --reviewer every command makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ScreenerError
from ..names import (
    check_name,
    read_regular_bytes,
    read_review_text,
)
from ..schema import ROLES, STAGES, check_review, default_votes, parse_toml

if TYPE_CHECKING:  # the folder holds its config, and a --reviewer is checked against it
    from .folder import Review

REVIEW_FILE = "review.toml"


# review.toml and searches/*.toml are small; anything bigger is not one.
MAX_TOML_BYTES = 4 << 20


DEFAULT_EXCLUSION_REASONS = [
    "Wrong population",
    "Wrong intervention or exposure",
    "Wrong comparator",
    "Wrong outcomes",
    "Wrong study design",
    "Duplicate report of an included study",
    "Not a primary study (review, editorial, letter)",
    "Conference abstract only",
]


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file of the review, read without following links, with errors naming it."""
    return parse_toml(read_review_text(path, limit=MAX_TOML_BYTES), path)


@dataclass
class Reviewer:
    name: str
    role: str = "screener"
    active: bool = True  # false: left the review; their decisions keep counting


@dataclass
class ReviewConfig:
    """What `review.toml` says."""

    title: str = ""
    question: str = ""
    reviewers: list[Reviewer] = field(default_factory=list)
    stages: list[str] = field(default_factory=lambda: list(STAGES))
    exclusion_reasons: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUSION_REASONS))
    highlight_include: list[str] = field(default_factory=list)
    highlight_exclude: list[str] = field(default_factory=list)
    ranking: dict[str, Any] = field(default_factory=dict)  # [ranking]: RankerConfig.from_table
    # [screening] votes: agreeing screener decisions that make a record final, for every stage
    # or per stage (0 or a stage left out: the default, two, or one with a single screener).
    votes: int | dict[str, int] = 0
    raw: dict[str, Any] = field(default_factory=dict)
    # Unknown keys, each "review.toml: unknown key X, ignored (did you mean Y?)": for stderr, once.
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    def votes_needed(self, stage: str) -> int:
        """[screening] votes at this stage, else the default (default_votes)."""
        active = sum(1 for r in self.reviewers if r.role == "screener" and r.active)
        votes = self.votes.get(stage, 0) if isinstance(self.votes, dict) else self.votes
        return votes or default_votes(active)

    def to_toml(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.raw)
        data.update(
            {
                "title": self.title,
                "question": self.question,
                "stages": self.stages,
                "reviewers": [
                    {"name": r.name, "role": r.role} | ({} if r.active else {"active": False})
                    for r in self.reviewers
                ],
                # Other [full_text] keys (sources) are kept as they were written.
                "full_text": {**self.raw.get("full_text", {}), "exclusion_reasons": self.exclusion_reasons},
                "highlight": {
                    "include": self.highlight_include,
                    "exclude": self.highlight_exclude,
                },
            }
        )
        return data


def parse_config(data: dict[str, Any], path: Path) -> ReviewConfig:
    """Validate `review.toml` contents (schema.REVIEW): every problem names the file and the
    key; unknown keys are kept and come back as warnings."""
    checked = check_review(data, path)
    data = checked.data
    ranking = data.get("ranking", {})
    if ranking:
        from ..ranking import RankerConfig

        try:
            RankerConfig.from_table(ranking)
        except (ValueError, TypeError) as exc:
            raise ScreenerError(f"[ranking]: {exc}", path=path, hint="see docs/review-format.md") from None
    full_text = data.get("full_text", {})
    highlight = data.get("highlight", {})
    return ReviewConfig(
        title=data.get("title", ""),
        question=data.get("question", ""),
        reviewers=[
            Reviewer(r["name"], r.get("role", "screener"), r.get("active", True))
            for r in data.get("reviewers", [])
        ],
        stages=list(data.get("stages", STAGES)),
        exclusion_reasons=list(full_text.get("exclusion_reasons", DEFAULT_EXCLUSION_REASONS)),
        highlight_include=list(highlight.get("include", [])),
        highlight_exclude=list(highlight.get("exclude", [])),
        ranking=dict(ranking),
        votes=data.get("screening", {}).get("votes", 0),  # a number, or one per stage (schema-checked)
        raw=data,
        warnings=checked.warnings,
    )


def add_reviewer_hint(config_text: str, name: str, role: str) -> str:
    """How to add a reviewer, in the form review.toml already uses: `init` writes an inline
    array (`reviewers = [ { ... }, ]`), where a `[[reviewers]]` table would make the file invalid;
    a file written with tables gets a table."""
    entry = f'name = "{name}", role = "{role}"'
    if re.search(r"^\s*\[\[\s*reviewers\s*\]\]", config_text, re.M):
        return f"add a [[reviewers]] table to review.toml with {entry} (one key a line)"
    return f"add the line {{ {entry} }}, inside reviewers = [ ... ] in review.toml"


def check_reviewer(review: Review, name: str, roles: tuple[str, ...] = ROLES, doing: str = "") -> Reviewer:
    """The reviewer `name` of review.toml, with one of `roles`; else one error that says who the
    reviewers are, the name meant (a case or a typo away), or the role `doing` needs. Every
    command that takes --reviewer checks it here, so they refuse and accept alike."""
    import difflib

    people = review.config.reviewers
    found = next((r for r in people if r.name == name), None)
    if found is not None and found.role in roles:
        return found
    wanted = " or ".join(roles)
    fitting = [r.name for r in people if r.role in roles]
    listed = f"{wanted + 's' if len(roles) == 1 else 'reviewers'}: {', '.join(fitting) or 'none'}"
    if found is not None:
        raise ScreenerError(
            f"{name!r} is a {found.role} in review.toml, not a {wanted}" + (f": {doing}" if doing else ""),
            path=review.config_path,
            hint=listed,
        )
    # A name differing only in case names another file on Linux, the same one on macOS: never taken.
    same = [r.name for r in people if r.name.casefold() == name.casefold()]
    close = same or difflib.get_close_matches(name, [r.name for r in people], n=1, cutoff=0.6)
    if close:
        hint = f"did you mean {close[0]!r}? {listed}"
    else:
        hint = listed
        try:
            check_name(name, "reviewer name")  # a name that could not name a decision file: no line
            text = read_regular_bytes(review.config_path).decode("utf-8", "replace")
            hint += f"; to add {name!r}, {add_reviewer_hint(text, name, roles[0])}"
        except (OSError, ScreenerError):
            pass
    raise ScreenerError(f"{name!r} is not a reviewer of this review", path=review.config_path, hint=hint)
