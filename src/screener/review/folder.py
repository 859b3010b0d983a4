"""The Review: its folder and lock, its searches and their raw exports (read, verified against
their sha256, imported, removed), and status.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from ..cache import cache_root
from ..errors import FormatMismatch, ScreenerError
from ..importers import COLUMN_GENERATION, EXTENSIONS, ParsedFile, parse_bytes, read_records
from ..names import (
    MAX_FILE_NAME,
    atomic_write_beneath,
    check_name,
    check_not_link,
    inside,
    name_key,
    name_problem,
    read_regular_bytes,
)
from ..records import Record
from ..schema import KINDS, check_search
from ..textio import atomic_write_bytes
from .config import REVIEW_FILE, ReviewConfig, parse_config, read_toml
from .location import find_review
from .parsed import PARSE_CACHE_VERSION, _records_from_cache, _records_to_cache
from .searches import (
    SEARCH_NAME_HINT,
    Search,
    SearchFile,
    _check_rounds,
    _line_endings_converted,
    import_time,
    now_iso,
)

# The share of a file's records already in its search that makes it the same export again.
OVERLAP_REFUSED = 0.9


# Review folders this process holds the lock of (see Review.lock).
_HELD_LOCKS: set[str] = set()


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

    def _cache_path(self, sha256: str, fmt: str, search: str, columns: int = 1) -> Path:
        read_as = fmt if columns == 1 else f"{fmt}|columns {columns}"
        key = hashlib.sha256(f"{PARSE_CACHE_VERSION}|{sha256}|{read_as}|{search}".encode()).hexdigest()
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
        cache = self._cache_path(file.sha256, file.format, search.name, file.columns)
        records = None
        if cache.exists():
            try:
                records = _records_from_cache(cache)
            except Exception:  # a damaged cache entry is rebuilt, never trusted
                records = None
        if records is not None and len(records) != file.records:
            records = None  # a cache entry that disagrees with the provenance is rebuilt
        if records is None:
            if data is None:
                data = self.verify_raw_file(search, file)
            # strict=False: a stored file gives the records it gave when it was imported.
            drop = file.empty > 0  # as at its import
            if file.columns > COLUMN_GENERATION:
                raise ScreenerError(
                    f"files[{search.files.index(file)}].columns is {file.columns}: a newer screener "
                    f"imported {file.path}; this one reads column names up to generation {COLUMN_GENERATION}",
                    path=toml_path,
                    hint="update screener (pip install -U screener)",
                )
            try:
                parsed = parse_bytes(
                    data, path, file.format, search.name, strict=False, drop_empty=drop, columns=file.columns
                )
            except FormatMismatch as error:  # the provenance edited: read so, every id would change
                raise ScreenerError(
                    f"files[{search.files.index(file)}].format is {error.declared!r}, but {file.path} "
                    f"starts as {error.started_as}",
                    path=toml_path,
                    hint=f'restore the file from git, or set format = "{error.detected}"',
                ) from None
            records = parsed.records
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

    def rounds_held(self) -> set[int]:
        """The rounds some file (or a PubMed update that found nothing new) still opens."""
        searches = self.searches()
        rounds = {f.round for s in searches for f in s.files}
        # A PubMed update that found nothing new still opened its round.
        rounds |= {int(u.get("round", 1)) for s in searches for u in s.pubmed.get("updates", [])}
        return rounds or {1}

    def current_round(self) -> int:
        """The latest review version: 1 until the first `screener update`."""
        return max(self.rounds_held())

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
        # `update` names its round: its export of a search run again overlaps the last one by
        # nature. A plain import after an update lands in the current round too, but is no
        # new run of the search: the same export again is refused as before any update.
        by_update = round is not None
        round = round or self.current_round()
        current, updating = self.import_target(search, database, date_searched, query, kind, round)
        if current.files and not (updating and by_update) and not allow_overlap:
            self._refuse_repeated_export(current, parsed, path)
        stored = self._stray_export_name(path) or self.free_file_name(
            search, EXTENSIONS[parsed.format], parsed.sha256
        )
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
                columns=parsed.columns,
            )
        )
        try:
            self.save_search(current)
        except BaseException:
            inside(self.root, "searches", stored, what="raw file").unlink(missing_ok=True)
            raise
        cache = self._cache_path(parsed.sha256, parsed.format, search, parsed.columns)
        self._write_cache(cache, parsed.records)
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
        copy is deleted (git keeps it). `name` is its stored name (`embase-1c0ffee5.ris`, with or
        without `searches/`) or the name it was imported under, when that names one file."""
        from ..names import inside

        wanted = name.removeprefix("searches/").removeprefix("./searches/")
        by_path = wanted != name  # searches/NAME: the stored name only
        with self.lock():
            matches = [
                (s, f)
                for s in self.searches()
                if search is None or s.name == search
                for f in s.files
                if wanted == f.path or (not by_path and wanted == f.original_name)
            ]
            # A name that is one file's stored name and another's imported name (an older
            # screener stored `embase.csv`, a new download of that name is content-named) is
            # ambiguous below: the user undoing the import just made would remove the old export.
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
                    hint="give the stored name of the one to remove, with searches/ before it",
                )
            owner, file = matches[0]
            if owner.source == "pubmed":
                raise ScreenerError(
                    f"searches/{file.path} was fetched from PubMed by search {owner.name!r}; "
                    "its runs are one record of provenance",
                    hint="to redo that search: screener search pubmed --search NAME --restart",
                )
            stored_path = inside(self.root, "searches", file.path, what="searches")  # before any write
            from ..dedup.split_ids import record_splits

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

    def _listed_names(self) -> set[str]:
        """Every stored file name a search lists, in [[files]] or [[removed]], lower-cased."""
        searches = self.searches()
        return {f.path.lower() for s in searches for f in s.files} | {
            str(r["path"]).lower() for s in searches for r in s.removed
        }

    def _stray_export_name(self, path: str | Path) -> str | None:
        """The name of `path` when it is an export lying in searches/ that no search lists (a
        git merge resolved by keeping one side of a search's provenance leaves one): imported,
        it stays where it is under its name, instead of a second copy beside it."""
        candidate = Path(path)
        if candidate.is_symlink() or not candidate.is_file():
            return None
        try:
            if candidate.resolve().parent != self.searches_dir.resolve():
                return None
        except OSError:
            return None
        name = candidate.name
        if name.lower() in self._listed_names() or Path(name).suffix.lower() not in set(EXTENSIONS.values()):
            return None
        return name if name_problem(name, MAX_FILE_NAME) is None else None

    def free_file_name(self, search: str, extension: str, sha256: str = "") -> str:
        """A file name in searches/ that no file has and no search lists (a listed file that
        went missing keeps its name: restoring it from git must not clash). An export is named
        by its content (`<search>-<sha256[:8]>`) when `sha256` is given: two clones that each
        import a file into one search, or each start a search of one name, store two names,
        which git merges, where `<search>.ris` in both made an add/add conflict inside a raw
        export (and resolving it kept one clone's export only)."""
        self.searches_dir.mkdir(parents=True, exist_ok=True)
        listed = self._listed_names()

        def taken(candidate: str) -> bool:
            path = self.searches_dir / candidate
            return path.exists() or path.is_symlink() or candidate.lower() in listed

        stem = f"{search}-{sha256[:8].lower()}" if sha256 else search
        candidate, n = f"{stem}{extension}", 2
        while taken(candidate):
            candidate = f"{stem}-{n}{extension}"
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
