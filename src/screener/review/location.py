"""Where a review is: finding the folder a command runs in (never a review.toml planted in another
review's data folders) and making a new one.
"""

from __future__ import annotations

from pathlib import Path

import tomli_w

from ..errors import ScreenerError
from ..names import (
    check_name,
    inside,
    make_folder_beneath,
    rule_text,
)
from ..schema import ROLES, check_review
from ..textio import atomic_write_text
from .config import REVIEW_FILE, ReviewConfig, Reviewer

# Earlier versions kept the cache in the review; it stays git-ignored in new reviews, and is
# never read: a committed one could plant results.
CACHE_DIR = ".screener"


# Decision and allocation files merge line by line (each is only appended to); raw exports are
# kept byte for byte (their sha256 is recorded), so git must never convert their line endings
# (core.autocrlf).
GIT_ATTRIBUTES = (
    "labels/**/*.csv merge=union\nlabels/*.csv merge=union\nallocation/*.csv merge=union\nsearches/** -text\n"
    "fulltext/manifest.csv merge=union\n"
)


# Folders of a review that hold its data: a review.toml in them is a file a commit brought.
DATA_FOLDERS = ("searches", "labels", CACHE_DIR)


def _holding_review(folder: Path) -> Path | None:
    """The review whose data folder (searches/, labels/, .screener/) `folder` is in, if any."""
    for parent in folder.parents:
        if (parent / REVIEW_FILE).is_file() and folder.relative_to(parent).parts[0] in DATA_FOLDERS:
            return parent
    return None


def _refuse_odd_review_file(folder: Path) -> None:
    """A review.toml that is there but no regular file (a folder, a FIFO, a socket) is named as
    such, not reported missing."""
    path = folder / REVIEW_FILE
    if (path.exists() or path.is_symlink()) and not path.is_file():
        kind = "a folder" if path.is_dir() else "a broken link" if not path.exists() else "a special file"
        raise ScreenerError(
            f"is {kind}, not the review's settings file",
            path=path,
            hint="restore review.toml from git, or run 'screener init' in a new folder",
        )


def find_review(start: str | Path | None = None) -> Path:
    """The review directory: `start` itself if given, else the nearest with a review.toml
    that is not inside another review's data folders (a review.toml planted in searches/ or
    labels/ is data of the review around it, never a review of its own)."""
    if start is not None:
        root = Path(start).resolve()
        if not (root / REVIEW_FILE).is_file():
            _refuse_odd_review_file(root)
            raise ScreenerError(
                f"no {REVIEW_FILE} in {root}", hint="run 'screener init DIR' to create a review"
            )
        holder = _holding_review(root)
        if holder is not None:
            raise ScreenerError(
                f"is inside {root.relative_to(holder).parts[0]}/ of the review in {holder}, "
                "so it is that review's data, not a review",
                path=root / REVIEW_FILE,
                hint=f"pass --review {holder}",
            )
        return root
    try:
        here = Path.cwd().resolve()
    except FileNotFoundError:
        raise ScreenerError(
            "the current folder no longer exists", hint="cd into the review again, or pass --review DIR"
        ) from None
    for candidate in (here, *here.parents):
        if (candidate / REVIEW_FILE).is_file() and _holding_review(candidate) is None:
            return candidate
    for candidate in (here, *here.parents):  # the nearest review.toml that is no file, named so
        _refuse_odd_review_file(candidate)
    raise ScreenerError(
        f"no {REVIEW_FILE} in {here} or any folder above it",
        hint="run 'screener init' here, or pass --review DIR",
    )


def init_review(
    directory: str | Path,
    title: str = "",
    question: str = "",
    reviewers: list[Reviewer] | None = None,
) -> Path:
    """Create review.toml, searches/ and labels/ (refuses to overwrite an existing review).

    Every reviewer is checked (a name that can be a file name, a known role, no two alike)
    before anything is created."""
    for reviewer in reviewers or []:
        check_name(reviewer.name, "reviewer name", hint=f"it names their decision files: {rule_text()}")
        if reviewer.role not in ROLES:
            raise ScreenerError(
                f"reviewer {reviewer.name!r}: unknown role {reviewer.role!r}",
                hint=f"write NAME or NAME:ROLE with ROLE one of {', '.join(ROLES)}",
            )
    names = [r.name for r in reviewers or []]
    if len(set(names)) != len(names):
        raise ScreenerError("two reviewers have the same name", hint="give each --reviewer once")
    root = Path(directory).resolve()
    if (root / REVIEW_FILE).exists() or (root / REVIEW_FILE).is_symlink():
        raise ScreenerError(f"{root / REVIEW_FILE} exists already; nothing was changed")
    if root.exists() and not root.is_dir():
        raise ScreenerError("is not a folder", path=root)
    config = ReviewConfig(
        title=title or "Untitled systematic review",
        question=question,
        reviewers=reviewers
        or [Reviewer("reviewer1"), Reviewer("reviewer2"), Reviewer("resolver", "resolver")],
    )
    # What the command line brought, checked before anything (the folder included) is made.
    check_review(config.to_toml(), root / REVIEW_FILE)
    # A clone may bring searches/ or labels/ as links: refused before anything is made, and
    # each folder then made without following a link swapped in since (make_folder_beneath).
    folders = [("searches",), *(("labels", stage) for stage in config.stages)]
    for parts in folders:
        inside(root, *parts, what="review folder")
    root.mkdir(parents=True, exist_ok=True)
    for parts in folders:
        make_folder_beneath(root.joinpath(*parts), len(parts))
    header = (
        "# screener review: see docs/review-format.md for every key.\n"
        "# Reviewers screen independently; a resolver settles their conflicts.\n"
    )
    atomic_write_text(root / REVIEW_FILE, header + tomli_w.dumps(config.to_toml()))
    gitignore = root / ".gitignore"
    if not gitignore.exists() and not gitignore.is_symlink():
        # Full texts are copyrighted: fulltext/pdf/ is never committed (its own .gitignore says so too).
        atomic_write_text(gitignore, f"{CACHE_DIR}/\nfulltext/pdf/\n")
    attributes = root / ".gitattributes"
    if not attributes.exists() and not attributes.is_symlink():
        # Decision files are only appended to: when two clones both appended, git keeps both
        # sides' lines instead of reporting a conflict (labels/dedup.csv is shared by everyone).
        atomic_write_text(attributes, GIT_ATTRIBUTES)
    return root
