"""review.toml: its table of keys, then the rules that span keys (stage order, one name per
reviewer, votes the active screeners can give, a verified sample for single screening)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .context import Checked, Context
from .describe import each_once, found
from .pathnames import Name, ReviewerName
from .regex import Regex
from .specs import Boolean, Choice, Fraction, Integer, Text, Votes
from .tables import AnyTable, ListOf, Table, Tables
from .vocab import FULLTEXT_SOURCES, ROLES, STAGES, default_votes

REVIEW = Table(
    {
        "title": Text(),
        "question": Text(),
        "criteria": Text(),  # inclusion criteria, read by the ranking with the question
        "stages": ListOf(
            Choice(STAGES, why="full-text screening reads the title-abstract decisions"),
            unique=True,
            example='["title-abstract", "full-text"]',
        ),
        "reviewers": Tables(
            Table(
                {
                    "name": ReviewerName(),
                    "role": Choice(ROLES, why="screeners decide independently, a resolver settles conflicts"),
                    # A screener who left: their decisions keep counting, they get no new records.
                    "active": Boolean(),
                },
                required=["name"],
                example='{ name = "alice", role = "screener" }',
                missing='add name = "..." to this [[reviewers]] table; it also names their decision files',
            ),
            "reviewer",
        ),
        "full_text": Table(
            {
                "exclusion_reasons": ListOf(
                    Text(multiline=False, nonempty=True),
                    unique=True,
                    same=lambda reason: " ".join(reason.split()).casefold(),
                    example='["Wrong population", "Wrong outcomes"]',
                ),
                "sources": ListOf(
                    Choice(FULLTEXT_SOURCES, why="`screener fulltext get` asks them in this order"),
                    unique=True,
                    example='["europepmc", "unpaywall", "openalex"]',
                ),
            }
        ),
        "highlight": Table(
            {"include": ListOf(Regex(), example='["term", "other\\\\w*"]'), "exclude": ListOf(Regex())}
        ),
        "ranking": AnyTable(),  # its keys: RankerConfig.from_table
        "screening": Table(
            {
                "votes": Votes(),
                # Single screening (votes = 1) with this share of records screened twice.
                "verify_sample": Fraction("this share of the records is screened by two screeners"),
            }
        ),
        "dedup": Table(
            {"keep_first": ListOf(Name("search name"), unique=True, example='["medline", "embase"]')}
        ),
        "prisma": Table(
            {
                "meta_analysis_studies": Integer(0, "studies included in the meta-analysis, once it is done"),
                "meta_analysis_reports": Integer(0, "their reports"),
            }
        ),
    }
)


def check_review(data: dict[str, Any], path: Path) -> Checked:
    """review.toml's contents checked; raises a ScreenerError naming the file and the key."""
    ctx = Context(path, REVIEW)
    out = REVIEW.check(data, "", ctx)
    stages = out.get("stages", list(STAGES))
    if not stages:
        raise ctx.error(
            "stages",
            "is empty; a review has at least the title-abstract stage",
            'stages = ["title-abstract", "full-text"]',
        )
    if stages != list(STAGES[: len(stages)]):
        raise ctx.error(
            "stages",
            f"is {found(stages)}; the stages are title-abstract, then full-text, each once",
            "full-text screening reads the title-abstract decisions: "
            'stages = ["title-abstract", "full-text"] or ["title-abstract"]',
        )
    each_once(
        ctx,
        out.get("reviewers", []),
        "reviewers",
        "name",
        "each reviewer has their own name: it names their decision files "
        "(one file on macOS and Windows when names differ only in case)",
    )
    _check_votes(out, ctx)
    _check_verify_sample(out, ctx)
    reasons = out.get("full_text", {}).get("exclusion_reasons")
    if reasons == [] and "full-text" in stages:
        raise ctx.error(
            "full_text.exclusion_reasons",
            "is empty; every full-text exclusion needs a reason",
            'list the reasons, e.g. exclusion_reasons = ["Wrong population", "Wrong outcomes"]',
        )
    return Checked(out, ctx.warnings)


def _active_screeners(out: dict[str, Any]) -> int:
    reviewers = out.get("reviewers", [])
    return sum(1 for r in reviewers if r.get("role", "screener") == "screener" and r.get("active", True))


def _votes_per_stage(out: dict[str, Any]) -> dict[str, int]:
    """[screening] votes at each of the review's stages, defaults filled in."""
    votes = out.get("screening", {}).get("votes", 0)
    default = default_votes(_active_screeners(out))
    stages = [s for s in out.get("stages", STAGES) if s in STAGES]
    given = votes if isinstance(votes, dict) else dict.fromkeys(stages, votes)
    return {stage: given.get(stage) or default for stage in stages}


def _check_votes(out: dict[str, Any], ctx: Context) -> None:
    """Votes for a stage the review has, and no more than its active screeners can give (else
    every record would stay open)."""
    votes = out.get("screening", {}).get("votes", 0)
    stages = out.get("stages", STAGES)
    if isinstance(votes, dict):
        for stage in votes:
            if stage not in stages:
                raise ctx.error(
                    f"screening.votes.{stage}",
                    f"is for a stage this review does not have (stages = {list(stages)})",
                    f"remove it from votes, or add {stage!r} to stages",
                )
    active = _active_screeners(out)
    for key, number in votes.items() if isinstance(votes, dict) else [("", votes)]:
        if number and active and number > active:
            raise ctx.error(
                f"screening.votes.{key}" if key else "screening.votes",
                f"is {number} but {active} screener{'s are' if active > 1 else ' is'} active: "
                "no record could become final",
                "lower votes, or add (or reactivate) screeners in [[reviewers]]",
            )


def _check_verify_sample(out: dict[str, Any], ctx: Context) -> None:
    """A verified sample is for single screening (at some stage), and needs a second screener
    to verify it."""
    screening = out.get("screening", {})
    if not screening.get("verify_sample"):
        return
    active = _active_screeners(out)
    per_stage = _votes_per_stage(out)
    if per_stage and 1 not in per_stage.values():
        given = screening.get("votes") or f"{max(per_stage.values())} (the default)"
        said = (
            f"votes is {given}: every record is screened {max(per_stage.values())} times already"
            if not isinstance(given, dict)
            else "no stage has votes = 1: every record is screened "
            + " and ".join(f"{n} times at {stage}" for stage, n in per_stage.items())
        )
        raise ctx.error(
            "screening.verify_sample",
            f"is set, but {said}",
            "a verified sample is for single screening: set votes = 1 in [screening] "
            "(or for one stage: votes = { title-abstract = 1 }), or remove verify_sample",
        )
    if active < 2:
        raise ctx.error(
            "screening.verify_sample",
            f"needs two active screeners to screen the sample twice; {active} is active",
            "add (or reactivate) a screener in [[reviewers]], or remove verify_sample",
        )
