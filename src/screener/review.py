"""The review directory: finding it, `review.toml`, the searches and their provenance, status.

Plain files are the database: `review.toml`, `searches/NAME.toml` + the raw export files, and
`labels/`. Everything derived (parsed records, dedup clusters, feature matrices, interrupted
searches) lives in the user's cache folder (`cache_root()`), never in the review, so a commit
cannot plant it; entries are keyed by the review's path and the sha256 of the files they came
from, and the folder can be deleted at any time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import marshal
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from . import __version__
from .cache import cache_root
from .errors import ScreenerError
from .importers import EXTENSIONS, ParsedFile, gc_paused, parse_bytes, read_records
from .names import (
    atomic_write_beneath,
    check_name,
    check_not_link,
    inside,
    make_folder_beneath,
    name_key,
    read_regular_bytes,
    read_review_text,
    rule_text,
)
from .records import Record
from .schema import KINDS, ROLES, STAGES, check_review, check_search, default_votes, parse_toml
from .textio import atomic_write_bytes, atomic_write_text

REVIEW_FILE = "review.toml"
# Earlier versions kept the cache in the review; it stays git-ignored in new reviews, and is
# never read: a committed one could plant results.
CACHE_DIR = ".screener"
SEARCH_NAME_HINT = (
    "use letters, digits, space, '.', '_', '-' or \"'\"; no leading dot or space; at most 64 characters; "
    "e.g. --search medline-2012"
)
# Decision and allocation files merge line by line (each is only appended to); raw exports are
# kept byte for byte (their sha256 is recorded), so git must never convert their line endings
# (core.autocrlf).
GIT_ATTRIBUTES = (
    "labels/**/*.csv merge=union\nlabels/*.csv merge=union\nallocation/*.csv merge=union\nsearches/** -text\n"
    "fulltext/manifest.csv merge=union\n"
)
# The share of a file's records already in its search that makes it the same export again.
OVERLAP_REFUSED = 0.9
# review.toml and searches/*.toml are small; anything bigger is not one.
MAX_TOML_BYTES = 4 << 20
# Bump when parsing changes what a file yields, so cached records are rebuilt.
PARSE_CACHE_VERSION = "4"

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
        from .ranking import RankerConfig

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


def _line_endings_converted(data: bytes, sha256: str) -> bool:
    """Whether `data` is the recorded file with its line endings converted, as git does."""
    for converted in (data.replace(b"\r\n", b"\n"), data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")):
        if converted != data and hashlib.sha256(converted).hexdigest() == sha256:
            return True
    return False



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


@dataclass
class SearchFile:
    path: str  # relative to searches/
    format: str
    sha256: str
    records: int
    encoding: str = "utf-8"
    imported: str = ""
    original_name: str = ""
    # The review version that brought this file: 1 for the original review, 2 for the first
    # update, and so on (`screener update`).
    round: int = 1
    date_searched: str = ""  # an update's search date (the search's own is the first one)
    # Records of the export with nothing to screen, kept out of `records` (the raw file keeps
    # them); PRISMA: records removed before screening for other reasons.
    empty: int = 0


@dataclass
class Search:
    """One search (a database queried once, or one other source) and its provenance."""

    name: str
    database: str = ""
    query: str = ""
    date_searched: str = ""
    source: str = "file"  # "file" (an export imported), "pubmed" (run through Entrez)
    notes: str = ""
    # PRISMA's source of records: database, register, website, organisation or citations.
    kind: str = "database"
    files: list[SearchFile] = field(default_factory=list)
    pubmed: dict[str, Any] = field(default_factory=dict)
    # Files taken out with `screener import --remove`: what they were, when and why removed.
    removed: list[dict[str, Any]] = field(default_factory=list)
    # Unknown keys, each "PATH: unknown key X, ignored (did you mean Y?)": for stderr, once.
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def record_count(self) -> int:
        return sum(f.records for f in self.files)

    def rounds(self) -> list[dict[str, Any]]:
        """Per round this search brought records to (or was re-run in): its date searched and
        records, oldest first. The search's own date is its first round's; an update's is kept
        on its file, or on the PubMed run that found nothing new."""
        first = min((f.round for f in self.files), default=1)
        dates: dict[int, str] = {first: self.date_searched}
        records: dict[int, int] = {}
        for f in self.files:
            records[f.round] = records.get(f.round, 0) + f.records
            if not dates.get(f.round):
                dates[f.round] = f.date_searched
        for run in self.pubmed.get("updates", []):
            number = int(run.get("round", 1))
            if not dates.get(number):
                dates[number] = str(run.get("date_run", ""))[:10]
        return [{"round": n, "date_searched": dates[n], "records": records.get(n, 0)} for n in sorted(dates)]

    @property
    def empty_count(self) -> int:
        """Empty records of its exports, kept out of screening (see SearchFile.empty)."""
        return sum(f.empty for f in self.files)

    def to_toml(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "database": self.database,
            "source": self.source,
            "query": self.query,
            "date_searched": self.date_searched,
        }
        if self.notes:
            data["notes"] = self.notes
        if self.pubmed:
            data["pubmed"] = self.pubmed
        data["files"] = [
            {k: v for k, v in vars(f).items() if v != "" and (k, v) not in (("round", 1), ("empty", 0))}
            for f in self.files
        ]
        if self.removed:
            data["removed"] = self.removed
        return data

    @classmethod
    def from_toml(cls, data: dict[str, Any], path: Path) -> Search:
        """A search from its searches/NAME.toml, checked (schema.SEARCH); unknown keys come back
        as warnings (and are not kept when screener writes the file again)."""
        checked = check_search(data, path)
        data = checked.data
        known = {f.name for f in dataclasses.fields(SearchFile)}
        return cls(
            name=data.get("name", path.stem),
            database=data.get("database", ""),
            query=data.get("query", ""),
            date_searched=data.get("date_searched", ""),
            source=data.get("source", "file"),
            notes=data.get("notes", ""),
            kind=data.get("kind", "database"),
            files=[SearchFile(**{k: v for k, v in f.items() if k in known}) for f in data.get("files", [])],
            pubmed=dict(data.get("pubmed", {})),
            removed=[dict(entry) for entry in data.get("removed", [])],
            warnings=checked.warnings,
        )


# Folders of a review that hold its data: a review.toml in them is a file a commit brought.
DATA_FOLDERS = ("searches", "labels", CACHE_DIR)


def _holding_review(folder: Path) -> Path | None:
    """The review whose data folder (searches/, labels/, .screener/) `folder` is in, if any."""
    for parent in folder.parents:
        if (parent / REVIEW_FILE).is_file() and folder.relative_to(parent).parts[0] in DATA_FOLDERS:
            return parent
    return None


def find_review(start: str | Path | None = None) -> Path:
    """The review directory: `start` itself if given, else the nearest with a review.toml
    that is not inside another review's data folders (a review.toml planted in searches/ or
    labels/ is data of the review around it, never a review of its own)."""
    if start is not None:
        root = Path(start).resolve()
        if not (root / REVIEW_FILE).is_file():
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


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Record))


def _records_to_cache(records: list[Record]) -> bytes:
    # marshal of plain tuples: several times faster than pickling dataclass instances.
    with gc_paused():
        return marshal.dumps((_RECORD_FIELDS, [tuple(r.__dict__.values()) for r in records]))


def _records_from_cache(data: bytes) -> list[Record]:
    with gc_paused():
        fields, rows = marshal.loads(data)
        if tuple(fields) != _RECORD_FIELDS:
            raise ValueError("cache written by another version")
        records = [Record(*row) for row in rows]
    # A damaged or forged entry is rebuilt, never trusted: the text fields must be text.
    for r in records:
        if not (isinstance(r.id, str) and isinstance(r.title, str) and isinstance(r.authors, list)):
            raise ValueError("cache entry of the wrong shape")
    return records


# Review folders this process holds the lock of (see Review.lock).
_HELD_LOCKS: set[str] = set()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def import_time() -> str:
    """When a file is imported, to the millisecond: which of two records sharing an id the review
    held first is decided by it (dedup's split ids), and scripts import many files a second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Review:
    """A review directory on disk. Cheap to construct; reads files when asked."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self._config: ReviewConfig | None = None

    @classmethod
    def find(cls, start: str | Path | None = None) -> Review:
        return cls(find_review(start))

    @property
    def config_path(self) -> Path:
        return self.root / REVIEW_FILE

    @property
    def searches_dir(self) -> Path:
        path = self.root / "searches"
        check_not_link(path)
        return path

    @property
    def labels_dir(self) -> Path:
        path = self.root / "labels"
        check_not_link(path)
        return path

    @property
    def dedup_decisions_path(self) -> Path:
        return inside(self.root, "labels", "dedup.csv", what="labels")

    @property
    def cache_dir(self) -> Path:
        """This review's part of the user's cache (see `cache_root`)."""
        label = re.sub(r"[^\w.-]", "_", self.root.name)[:40] or "review"
        key = hashlib.sha256(str(self.root).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return cache_root() / "reviews" / f"{label}-{key}"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise commands that change searches/ (import, search, update): an exclusive
        flock on the review folder itself, so no lock file is left in the review. Re-entrant
        within a process (an update imports files while it holds the lock)."""
        key = str(self.root)
        if key in _HELD_LOCKS:
            yield
            return
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _HELD_LOCKS.add(key)
            yield
        finally:
            _HELD_LOCKS.discard(key)
            os.close(fd)

    @property
    def config(self) -> ReviewConfig:
        if self._config is None:
            path = self.config_path
            self._config = parse_config(read_toml(path), path)
        return self._config

    # -- searches -------------------------------------------------------------------------

    def search_toml_path(self, name: str) -> Path:
        check_name(name, "search name", hint=SEARCH_NAME_HINT)
        return inside(self.root, "searches", f"{name}.toml", what="search")

    def raw_file_path(self, file: SearchFile) -> Path:
        return inside(self.root, "searches", file.path, what="raw file")

    def searches(self) -> list[Search]:
        """Every search with its provenance, in name order."""
        out = []
        if not self.searches_dir.is_dir():
            if self.searches_dir.exists():
                raise ScreenerError("is not a folder", path=self.searches_dir, hint="restore it from git")
            return out
        for path in sorted(self.searches_dir.glob("*.toml")):
            if path.name.startswith("."):
                continue  # an editor's or an interrupted write's temporary file
            check_name(path.stem, "search file name", path=path, hint="rename it to a plain name")
            out.append(self._read_search(inside(self.root, "searches", path.name, what="search")))
        owner: dict[str, str] = {}  # a raw file belongs to one search: twice, its records count twice
        for search in out:
            for file in search.files:
                other = owner.setdefault(file.path.casefold(), search.name)
                if other != search.name:
                    raise ScreenerError(
                        f"{file.path} is listed by search {other!r} too; its records would count twice",
                        path=self.searches_dir / f"{search.name}.toml",
                        hint="a raw file belongs to one search: restore the toml files from git",
                    )
        _check_rounds(out, self.searches_dir)
        return out

    def search(self, name: str) -> Search | None:
        path = self.search_toml_path(name)
        return self._read_search(path) if path.exists() or path.is_symlink() else None

    @staticmethod
    def _read_search(path: Path) -> Search:
        return Search.from_toml(read_toml(path), path)

    def save_search(self, search: Search) -> None:
        """Write searches/NAME.toml, checked against its schema first: a value the command line
        brought (a database name with a control character) must not break every later read."""
        path = self.search_toml_path(search.name)
        data = search.to_toml()
        check_search(data, path)
        header = "# Provenance of one search; the raw export files sit beside it, unchanged.\n"
        atomic_write_beneath(path, (header + tomli_w.dumps(data)).encode("utf-8"))

    # -- records --------------------------------------------------------------------------

    def _cache_path(self, sha256: str, fmt: str, search: str) -> Path:
        key = hashlib.sha256(f"{PARSE_CACHE_VERSION}|{sha256}|{fmt}|{search}".encode()).hexdigest()
        return self.cache_dir / "records" / f"{key[:32]}.marshal"

    def load_file_records(self, search: Search, file: SearchFile) -> list[Record]:
        """Records of one stored export, from the cache when the file is unchanged.

        The raw file is checked against its recorded sha256 every time, so every machine sees
        the same review; the hash is skipped only while the file's inode, size and change time
        are those recorded in the cache when it was last hashed (ctime cannot be set back).
        """
        path = self.raw_file_path(file)
        toml_path = self.search_toml_path(search.name)
        signature = self._verified_signature(path, file.sha256)
        data = None
        if signature is None:
            data = self.verify_raw_file(search, file)
        cache = self._cache_path(file.sha256, file.format, search.name)
        records = None
        if cache.exists():
            try:
                records = _records_from_cache(cache.read_bytes())
            except Exception:  # a damaged cache entry is rebuilt, never trusted
                records = None
        if records is not None and len(records) != file.records:
            records = None  # a cache entry that disagrees with the provenance is rebuilt
        if records is None:
            if data is None:
                data = self.verify_raw_file(search, file)
            # strict=False: a stored file gives the records it gave when it was imported.
            drop = file.empty > 0  # as at its import
            records = parse_bytes(data, path, file.format, search.name, strict=False, drop_empty=drop).records
            self._write_cache(cache, records)
        if len(records) != file.records:
            raise ScreenerError(
                f"files[{search.files.index(file)}] says {file.path} holds {file.records} records; "
                f"it holds {len(records)}",
                path=toml_path,
                hint="restore the file and its provenance from git (or set records to the true count)",
            )
        return records

    def verify_raw_file(self, search: Search, file: SearchFile) -> bytes:
        """The raw file's bytes, read afresh and checked against the sha256 recorded at import."""
        path, toml_path = self.raw_file_path(file), self.search_toml_path(search.name)
        if not path.exists() and not path.is_symlink():
            raise ScreenerError(
                f"search {search.name!r} lists {file.path}, which is missing",
                path=toml_path,
                hint="restore the file from git, or remove the entry",
            )
        data = read_regular_bytes(path)
        if hashlib.sha256(data).hexdigest() != file.sha256:
            if _line_endings_converted(data, file.sha256):
                raise ScreenerError(
                    "has other line endings than when it was imported: git converted them (core.autocrlf)",
                    path=path,
                    hint="add 'searches/** -text' to the review's .gitattributes, delete this file and "
                    "'git checkout -- searches' to get it back unconverted; if the committed copy was "
                    "converted too, commit the original export again",
                )
            raise ScreenerError(
                "was changed after it was imported (sha256 differs from the provenance)",
                path=path,
                hint="raw exports are never edited: restore it from git, or import the new "
                "export as a new file",
            )
        self._remember_verified(path, file.sha256)
        return data

    def _signature_path(self, path: Path) -> Path:
        key = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return self.cache_dir / "verified" / key

    @staticmethod
    def _stat_signature(path: Path, sha256: str) -> str | None:
        try:
            info = os.lstat(path)
        except OSError:
            return None
        return f"{sha256} {info.st_dev} {info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns}"

    def _verified_signature(self, path: Path, sha256: str) -> str | None:
        """The file's signature when it was hashed before and has not changed since."""
        current = self._stat_signature(path, sha256)
        if current is None:
            return None
        try:
            recorded = self._signature_path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        return current if recorded == current else None

    def _remember_verified(self, path: Path, sha256: str) -> None:
        signature = self._stat_signature(path, sha256)
        if signature is None:
            return
        try:
            atomic_write_bytes(self._signature_path(path), signature.encode(), durable=False)
        except OSError:
            pass

    def _write_cache(self, cache: Path, records: list[Record]) -> None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(cache, _records_to_cache(records), durable=False)
        except OSError:
            pass  # a read-only checkout still works, only slower

    def empty_records(self) -> dict[str, int]:
        """Per search, the empty records its exports held, kept out of screening (PRISMA 2020:
        records removed before screening, other reasons); searches without any are left out."""
        return {s.name: s.empty_count for s in self.searches() if s.empty_count}

    def record_files(self) -> list[tuple[Search, SearchFile, int]]:
        """For each record of records(), in the same order: its search, its stored file and its
        position in that file. From the provenance alone (load_file_records holds every file to
        its recorded count), so nothing is parsed or read from the cache."""
        return [(s, f, k) for s in self.searches() for f in s.files for k in range(f.records)]

    def record_rounds(self) -> list[int]:
        """The round (review version) of each record of records(), in the same order."""
        return [f.round for _, f, _ in self.record_files()]

    def current_round(self) -> int:
        """The latest review version: 1 until the first `screener update`."""
        rounds = [f.round for s in self.searches() for f in s.files]
        # A PubMed update that found nothing new still opened its round.
        rounds += [int(u.get("round", 1)) for s in self.searches() for u in s.pubmed.get("updates", [])]
        return max(rounds, default=1)

    def records(self, search: str | None = None) -> list[Record]:
        """Every record of every search (or of one), in search then file order."""
        out: list[Record] = []
        for s in self.searches():
            if search is None or s.name == search:
                for f in s.files:
                    out.extend(self.load_file_records(s, f))
        return out

    # -- importing ------------------------------------------------------------------------

    def import_file(
        self,
        path: str | Path,
        search: str,
        *,
        fmt: str | None = None,
        database: str = "",
        date_searched: str = "",
        query: str = "",
        parsed: ParsedFile | None = None,
        kind: str = "",
        round: int | None = None,
        allow_overlap: bool = False,
    ) -> ImportResult:
        """Add an export file to a search: parsed fully first, then stored unchanged.

        The same file (same sha256) imported again adds nothing. A file whose records are
        mostly (OVERLAP_REFUSED) in that search already is the same export again under another
        name (one newline added): refused unless `allow_overlap`, or when an update brings it.
        Nothing is written when the file cannot be read.
        """
        self.import_target(search, database, date_searched, query, kind, round or self.current_round())
        parsed = parsed or read_records(path, fmt, search)
        with self.lock():  # concurrent imports into one search each get their own file
            return self._import_parsed(
                path, search, parsed, database, date_searched, query, kind, round, allow_overlap
            )

    def _import_parsed(
        self,
        path: str | Path,
        search: str,
        parsed: ParsedFile,
        database: str,
        date_searched: str,
        query: str,
        kind: str,
        round: int | None,
        allow_overlap: bool = False,
    ) -> ImportResult:
        for existing in self.searches():
            for f in existing.files:
                if f.sha256 == parsed.sha256:
                    return ImportResult(existing.name, parsed, added=False, stored_as=f.path)
        round = round or self.current_round()
        current, updating = self.import_target(search, database, date_searched, query, kind, round)
        if current.files and not updating and not allow_overlap:
            self._refuse_repeated_export(current, parsed, path)
        stored = self.free_file_name(search, EXTENSIONS[parsed.format])
        data = parsed.data if parsed.data is not None else Path(path).read_bytes()
        if hashlib.sha256(data).hexdigest() != parsed.sha256:
            raise ScreenerError("changed while it was being imported; nothing was written", path=path)
        atomic_write_beneath(inside(self.root, "searches", stored, what="raw file"), data)
        current.files.append(
            SearchFile(
                path=stored,
                format=parsed.format,
                sha256=parsed.sha256,
                records=len(parsed.records),
                encoding=parsed.encoding,
                imported=import_time(),
                # A file name that is not valid UTF-8 is kept readable in the provenance.
                original_name=os.fsencode(Path(path).name).decode("utf-8", "replace"),
                round=round,
                date_searched=date_searched if updating else "",
                empty=len(parsed.empty),
            )
        )
        try:
            self.save_search(current)
        except BaseException:
            inside(self.root, "searches", stored, what="raw file").unlink(missing_ok=True)
            raise
        self._write_cache(self._cache_path(parsed.sha256, parsed.format, search), parsed.records)
        return ImportResult(search, parsed, added=True, stored_as=stored)

    def import_target(
        self, search: str, database: str, date_searched: str, query: str, kind: str, round: int
    ) -> tuple[Search, bool]:
        """The search a file would be imported into, with what the command line brings set on
        it, and whether the import is an update of it; raises, writing nothing, when the name or
        what the command line says cannot go with that search (update checks every file first)."""

        self.refuse_name_clash(search)
        if date_searched:
            try:
                dt.date.fromisoformat(date_searched)
            except ValueError:
                raise ScreenerError(
                    f"--date-searched {date_searched!r} is not a date", hint="use YYYY-MM-DD"
                ) from None
        if kind and kind not in KINDS:
            raise ScreenerError(f"--kind must be one of {', '.join(KINDS)}")
        current = self.search(search) or Search(
            name=search, database=database, query=query, date_searched=date_searched, kind=kind or "database"
        )
        if current.source != "file":
            raise ScreenerError(
                f"search {search!r} was run through {current.source}; import files under another search name"
            )
        updating = round > min((f.round for f in current.files), default=round)
        for attr, value in (("database", database), ("query", query), ("date_searched", date_searched)):
            old = getattr(current, attr)
            if attr == "date_searched" and updating:
                continue  # an update searches again on a later day; the file keeps its date
            if value and old and old != value:
                raise ScreenerError(
                    f"search {search!r} already has {attr} {old!r}, not {value!r}",
                    hint="a search is one query in one database; use another --search name",
                )
            if value:
                setattr(current, attr, value)
        return current, updating

    def refuse_name_clash(self, search: str) -> None:
        """Refuse a new or named search whose name is another search's in another case (one
        file on macOS and Windows): every command that creates a search compares names so."""
        check_name(search, "search name", hint=SEARCH_NAME_HINT)
        key = name_key(search)
        clash = next((s.name for s in self.searches() if s.name != search and name_key(s.name) == key), None)
        if clash:
            raise ScreenerError(
                f"search {search!r} differs from the existing search {clash!r} only in case",
                hint=f"use --search {clash}, or a name of its own",
            )

    def _refuse_repeated_export(self, search: Search, parsed: ParsedFile, path: str | Path) -> None:
        """An export whose records are mostly in the search already (in one file or spread over
        several: two halves, then the whole) is the same search imported again."""
        new_ids = [r.id for r in parsed.records]
        if not new_ids:
            return
        held_in: dict[str, str] = {}
        for file in search.files:
            for record in self.load_file_records(search, file):
                held_in.setdefault(record.id, file.path)
        found = [held_in[i] for i in new_ids if i in held_in]
        if len(found) >= OVERLAP_REFUSED * len(new_ids):
            files = ", ".join(f"searches/{name}" for name in dict.fromkeys(found))
            raise ScreenerError(
                f"{len(found)} of its {len(new_ids)} records are already in search {search.name!r}, "
                f"from {files}: the same export imported again?",
                path=path,
                hint="nothing was written; if it really is another export, pass --allow-overlap",
            )

    def remove_file(
        self, name: str, reason: str = "", search: str | None = None
    ) -> tuple[Search, SearchFile]:
        """Take a wrongly imported file out of the review, its provenance kept: its entry moves
        from the search's [[files]] to [[removed]] (with the time and the reason) and the stored
        copy is deleted (git keeps it). `name` is its stored name (`embase-2.ris`, with or
        without `searches/`) or the name it was imported under, when that names one file."""
        from .names import inside

        wanted = name.removeprefix("searches/").removeprefix("./searches/")
        with self.lock():
            matches = [
                (s, f)
                for s in self.searches()
                if search is None or s.name == search
                for f in s.files
                if wanted in (f.path, f.original_name)
            ]
            stored = [(s, f) for s, f in matches if f.path == wanted]
            matches = stored or matches
            if not matches:
                listed = ", ".join(f.path for s in self.searches() for f in s.files) or "none"
                raise ScreenerError(
                    f"no search lists a file {name!r}",
                    hint=f"give the stored name shown by 'screener status --json' (files: {listed})",
                )
            if len(matches) > 1:
                raise ScreenerError(
                    f"{name!r} names {len(matches)} imported files "
                    f"({', '.join('searches/' + f.path for _, f in matches)})",
                    hint="give the stored name of the one to remove",
                )
            owner, file = matches[0]
            if owner.source == "pubmed":
                raise ScreenerError(
                    f"searches/{file.path} was fetched from PubMed by search {owner.name!r}; "
                    "its runs are one record of provenance",
                    hint="to redo that search: screener search pubmed --search NAME --restart",
                )
            stored_path = inside(self.root, "searches", file.path, what="searches")  # before any write
            from .dedup.split_ids import record_splits

            # An erratum split from its article keeps its own id once the article is gone.
            record_splits(self)
            owner.files = [f for f in owner.files if f is not file]
            entry = {k: v for k, v in vars(file).items() if v != ""}
            entry["removed"] = now_iso()
            if reason:
                entry["reason"] = reason
            owner.removed.append(entry)
            self.save_search(owner)
            stored_path.unlink(missing_ok=True)
            return owner, file

    def free_file_name(self, search: str, extension: str) -> str:
        """A file name in searches/ that no file has and no search lists (a listed file that
        went missing keeps its name: restoring it from git must not clash)."""
        self.searches_dir.mkdir(parents=True, exist_ok=True)
        listed = {f.path.lower() for s in self.searches() for f in s.files}
        listed |= {str(r["path"]).lower() for s in self.searches() for r in s.removed}
        candidate = f"{search}{extension}"
        n = 2
        while (
            (self.searches_dir / candidate).exists()
            or (self.searches_dir / candidate).is_symlink()
            or candidate.lower() in listed
        ):
            candidate = f"{search}-{n}{extension}"
            n += 1
        return candidate

    # -- status ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Records per search and in total (later stages add screening progress)."""
        searches = []
        total = 0
        for s in self.searches():
            # Counted from the files (each checked against its sha256 and its recorded count).
            count = sum(len(self.load_file_records(s, f)) for f in s.files)
            total += count
            rounds = s.rounds()
            searches.append(
                {
                    "name": s.name,
                    "database": s.database,
                    "source": s.source,
                    "date_searched": s.date_searched,  # the first round's, as in searches/NAME.toml
                    # After an update the search is current to its latest round's date, not round 1's.
                    "last_date_searched": rounds[-1]["date_searched"] if rounds else s.date_searched,
                    "rounds": rounds,
                    "files": len(s.files),
                    "records": count,
                }
            )
        return {
            "review": str(self.root),
            "title": self.config.title,
            "searches": searches,
            "records_identified": total,
            "reviewers": [{"name": r.name, "role": r.role} for r in self.config.reviewers],
        }


@dataclass
class ImportResult:
    search: str
    parsed: ParsedFile
    added: bool
    stored_as: str


def environment_summary() -> dict[str, str]:
    """Versions recorded in provenance, so a search can be reproduced."""
    import Bio

    return {"screener": __version__, "biopython": Bio.__version__, "python": sys.version.split()[0]}


def _check_rounds(searches: list[Search], folder: Path) -> None:
    """Refuse a file round no update can have made. Each `screener update` opens the round after
    the latest, so the review's rounds run 1, 2, 3...; a round may be left without files (its
    files removed), hence one gap is allowed: a round above the number of rounds recorded + 1 was
    typed by hand, and would make every listing of rounds count up to it."""
    recorded: set[int] = set()
    for search in searches:
        recorded.update(f.round for f in search.files)
        recorded.update(int(r["round"]) for r in search.removed if isinstance(r.get("round"), int))
        recorded.update(
            int(u["round"]) for u in search.pubmed.get("updates", []) if isinstance(u.get("round"), int)
        )
    highest = len(recorded) + 1
    for search in searches:
        for index, file in enumerate(search.files):
            if file.round > highest:
                raise ScreenerError(
                    f"files[{index}].round is {file.round}, but the review has {len(recorded)} "
                    f"round{'s' if len(recorded) != 1 else ''} of searches: no update made it",
                    path=folder / f"{search.name}.toml",
                    hint="set it to the round that file was imported in (1 is the original review, 2 the "
                    "first 'screener update'), or restore the file from git",
                )
