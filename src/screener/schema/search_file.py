"""searches/NAME.toml: what screener wrote about a search (its files, their sha256, PubMed's
runs and updates), checked as strictly as review.toml, and named by its file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..importers import FORMATS
from ..names import MAX_FILE_NAME, check_name, rule_text
from .context import Checked, Context
from .describe import each_once, found, shown
from .pathnames import Name
from .specs import Choice, Date, Integer, PubmedDate, Sha256, Text, Timestamp
from .tables import Table, Tables
from .vocab import DATETYPES, KINDS, SOURCES


def _pubmed_datetypes() -> Sequence[str]:
    return DATETYPES


_WRITTEN_BY_SCREENER = "screener writes it: restore this file from git; git log -p shows what changed"
_FILE_NAME = Name("stored file name (a file in searches/)", limit=MAX_FILE_NAME)
_COUNT = Integer(0)
_ROUND = Integer(1, "1 is the original review, 2 the first `screener update`, ...")

# A file stored in searches/: its entry under [[files]], and under [[removed]] once taken out.
_STORED_FILE = {
    "path": _FILE_NAME,
    "format": Choice(FORMATS),
    "sha256": Sha256(),
    "records": _COUNT,
    "encoding": Text(multiline=False),
    "imported": Timestamp(),
    "original_name": Text(controls=True),  # the imported file's name, as it was
    "round": _ROUND,
    "date_searched": Date(),
    "empty": _COUNT,  # empty records of the export, kept out of screening
    # how a table's column names were read at its import (importers.COLUMN_GENERATION)
    "columns": Integer(1, "how a table's column names were read; screener writes it"),
}

SEARCH = Table(
    {
        "name": Name("search name"),
        "database": Text(multiline=False),
        "source": Choice(SOURCES, why="file: exports imported; pubmed: run through NCBI Entrez"),
        "kind": Choice(KINDS, why="where PRISMA counts the search's records"),
        "notes": Text(),
        "query": Text(),
        "date_searched": Date(),
        "files": Tables(
            Table(
                _STORED_FILE,
                required=["path", "format", "sha256", "records"],
                missing=_WRITTEN_BY_SCREENER,
            ),
            "stored file",
        ),
        # Files taken out with `screener import --remove`: their provenance, kept.
        "removed": Tables(
            Table(
                {**_STORED_FILE, "removed": Timestamp(), "reason": Text()},
                required=["path", "sha256", "removed"],
                missing=_WRITTEN_BY_SCREENER,
            ),
            "removed file",
        ),
        "pubmed": Table(
            {
                "query_translation": Text(),
                "count": _COUNT,
                "date_run": Timestamp(),
                "started": Timestamp(),
                "mindate": PubmedDate(),
                "maxdate": PubmedDate(),
                "datetype": Choice(_pubmed_datetypes),
                "date_slices": _COUNT,
                "count_not_in_date_slices": _COUNT,
                "pmids_fetched": _COUNT,
                "screener_version": Text(multiline=False),
                "biopython_version": Text(multiline=False),
                "python_version": Text(multiline=False),
                "updates": Tables(
                    Table(
                        {
                            "date_run": Timestamp(),
                            "count": _COUNT,
                            "new": _COUNT,
                            "since_last_run": _COUNT,
                            "indexed_late": _COUNT,
                            "query_translation": Text(),
                            "round": _ROUND,
                            "file": _FILE_NAME,
                        },
                        required=["date_run"],
                        missing=_WRITTEN_BY_SCREENER,
                    ),
                    "run of `screener update`",
                ),
            }
        ),
    }
)


def check_search(data: dict[str, Any], path: Path) -> Checked:
    """searches/NAME.toml's contents checked; its name must be the file's own (NAME)."""
    ctx = Context(path, SEARCH)
    _no_search_lines_in_files(ctx, data)
    check_name(
        path.stem,
        "search file name",
        path=path,
        hint=f"rename the file (git mv) and its name key to {rule_text()} characters",
    )
    out = SEARCH.check(data, "", ctx)
    if "name" in out and out["name"] != path.stem:
        raise ctx.error(
            "name",
            f"is {found(out['name'])}, but the file is {path.name}",
            f'a search is named by its file: write name = "{path.stem}" (or remove the key)',
        )
    files = out.get("files", [])
    _no_clashing_exports(ctx, files, path.stem)
    repeat = "remove the repeated [[files]] entry: its records would count twice"
    each_once(ctx, files, "files", "path", repeat)
    _merged_entries_agree(ctx, files, out.get("removed", []))
    for i, entry in enumerate(files):
        if "imported" not in entry:  # lost while resolving a merge by hand, say
            ctx.warnings.append(
                f"{path}: files[{i}] has no `imported` time, so the stopping rule cannot tell whether "
                f"{entry['path']} came after screening began and counts it as before (restore the line "
                "from git)"
            )
    return Checked(out, ctx.warnings)


# A search's own keys: in a [[files]] entry they are lines a merge left in the wrong table
# (`notes`, natural beside a removed file's reason, stays an unknown key, ignored).
_SEARCH_ONLY = ("name", "database", "source", "kind", "query")


def _merged_entries_agree(ctx: Context, files: list[dict[str, Any]], removed: list[dict[str, Any]]) -> None:
    """What only a merge of two clones' search files makes, each refused before it counts: one
    export listed twice (two stored names, one sha256: its records counted twice), a file both
    listed and removed (one clone removed it, the other's lines kept it), and a date on a file
    of the search's first round (screener dates only an update's files: the other clone's
    search date, left in this entry when git's markers were deleted, would date it)."""
    by_sha: dict[str, int] = {}
    for i, entry in enumerate(files):
        earlier = by_sha.setdefault(entry["sha256"], i)
        if earlier != i and entry["path"] != files[earlier]["path"]:
            raise ctx.error(
                f"files[{i}].sha256",
                f"is files[{earlier}].sha256 too: {shown(entry['path'])} and {shown(files[earlier]['path'])} "
                "are one export, and its records would count twice",
                f"remove one: screener import --remove searches/{entry['path']}",
            )
    removed_paths = {str(entry.get("path", "")): j for j, entry in enumerate(removed)}
    for i, entry in enumerate(files):
        j = removed_paths.get(entry["path"])
        if j is not None:
            reason = removed[j].get("reason") or "no reason given"
            raise ctx.error(
                f"files[{i}].path",
                f"{shown(entry['path'])} is removed[{j}].path too (removed: {reason}): a merge kept one "
                "clone's [[files]] entry beside the other's removal",
                "if the removal stands, delete this [[files]] entry (and the file); if not, delete the "
                "[[removed]] entry; then run 'screener check'",
            )
    first_round = min((entry.get("round", 1) for entry in files), default=1)
    for i, entry in enumerate(files):
        if entry.get("date_searched") and entry.get("round", 1) == first_round:
            raise ctx.error(
                f"files[{i}].date_searched",
                "dates a file of the search's first round, which screener never does (only an "
                "update's files have their own date): most likely the other clone's search date, "
                "left in this entry when git's conflict markers were deleted",
                "keep one date_searched above the first [[files]] line and delete this one; check "
                "that each [[files]] entry kept its own lines (columns, empty, ...), then run "
                "'screener check'",
            )


def _no_search_lines_in_files(ctx: Context, data: dict[str, Any]) -> None:
    """A search's own key inside a [[files]] entry: a merge conflict between two clones that each
    started the search, resolved by deleting git's markers, put one side's search lines (name,
    database, its date) under the other side's file entry, where `date_searched` is a file's key
    too and would date that file wrongly. Refused, naming the line's place and what to do."""
    for table in ("files", "removed"):
        entries = data.get(table)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            stray = [key for key in _SEARCH_ONLY if key in entry]
            if stray:
                raise ctx.error(
                    f"{table}[{i}].{stray[0]}",
                    "is a search's key inside a file's entry: lines of a merged search file are "
                    "in the wrong table (a conflict resolved by deleting git's markers?)",
                    "move the search's lines (name, database, date_searched, query, ...; one value "
                    "of each) above the first [[files]] line, keep each side's [[files]] entry whole "
                    "under its own [[files]] line, then run 'screener check'",
                )


def _no_clashing_exports(ctx: Context, files: list[dict[str, Any]], search: str) -> None:
    """Two entries naming one path with other contents: two clones each stored their own export
    under one name (an earlier screener named a search's first file `<search>.<ext>`), and git
    kept one of them. Removing the repeated entry, as for a true repeat, would drop the other
    export and its records; it is still in the other clone's commit."""
    first: dict[str, int] = {}
    for i, entry in enumerate(files):
        earlier = first.setdefault(entry["path"], i)
        if earlier == i or files[earlier].get("sha256") == entry.get("sha256"):
            continue
        name = entry["path"]
        _, dot, extension = name.rpartition(".")
        kept_as = f"{search}-{str(entry.get('sha256', ''))[:8]}{dot}{extension}" if dot else f"{name}-2"
        raise ctx.error(
            f"files[{i}].path",
            f"{shown(name)} is files[{earlier}].path too, with another sha256: two clones each stored "
            "their own export under this name (during the merge git wrote its markers into it)",
            f"keep both: the two clones' exports are 'git show :2:searches/{name}' and 'git show "
            f":3:searches/{name}' during the merge ('git show <each clone's commit>:searches/{name}' "
            f"after it); save the one whose sha256 is files[{i}]'s as searches/{kept_as} and set "
            f"files[{i}].path to it, restore the other as searches/{name}, then run 'screener check'",
        )
