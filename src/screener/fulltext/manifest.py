"""`fulltext/manifest.csv`: what the review knows about each record's report, tracked in git.

The PDFs are copyrighted and large, so they live in `fulltext/pdf/`, which git ignores (the
folder holds its own `.gitignore`, so this holds even in a review made before `init` wrote the
rule); the manifest says, per record, the state of its report, the sha256 of the PDF's bytes,
where it came from and who attached it. A clone without the PDFs still knows every state and
can say which files it lacks.

The manifest is append-only like the decision files (`applog`): the latest line of a record
wins, by timestamp (ties in file order), and `.gitattributes` merges it line by line
(`merge=union`), so two teammates attaching on two machines never conflict and the merged
file's line order does not decide which attach counts.

States, after CoLRev's pdf states (`pdf_needs_manual_retrieval`, `pdf_imported`,
`pdf_needs_manual_preparation`, `pdf_prepared`, `pdf_not_available`) without the `pdf_`
prefix; a record with no line is `needs_manual_retrieval`. We keep CoLRev's split between a
file that is attached and checked (`prepared`) and one a person must look at
(`needs_manual_preparation`: no text layer, or the record's title not found in it), because
that is the difference a reviewer acts on; `imported` is a file attached whose checks have not
run (a later `check` or `fulltext attach` prepares it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import ScreenerError
from ..names import check_name, inside

FOLDER = "fulltext"
PDF_FOLDER = "pdf"
MANIFEST = "manifest.csv"
COLUMNS = (
    "record_id",
    "state",
    "sha256",
    "file",
    "source",
    "original_name",
    "url",
    "timestamp",
    "who",
    "note",
    "version",
)
NEEDS_RETRIEVAL = "needs_manual_retrieval"
IMPORTED = "imported"
NEEDS_PREPARATION = "needs_manual_preparation"
PREPARED = "prepared"
NOT_AVAILABLE = "not_available"
STATES = (NEEDS_RETRIEVAL, IMPORTED, NEEDS_PREPARATION, PREPARED, NOT_AVAILABLE)
# States in which the record has a file (its sha256 and file name are on the line).
WITH_FILE = frozenset((IMPORTED, NEEDS_PREPARATION, PREPARED))
SOURCES = ("attach", "europepmc", "unpaywall", "openalex", "manual", "")  # where a file came from
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entry:
    """One manifest line."""

    record_id: str
    state: str
    sha256: str = ""
    file: str = ""
    source: str = ""
    original_name: str = ""
    url: str = ""
    timestamp: str = ""
    who: str = ""
    note: str = ""
    version: str = ""
    line: int = 0

    @property
    def has_file(self) -> bool:
        return self.state in WITH_FILE

    def row(self) -> list[str]:
        return [getattr(self, c) for c in COLUMNS]


def manifest_path(root: Path) -> Path:
    return inside(root, FOLDER, MANIFEST, what="fulltext")


def pdf_folder(root: Path) -> Path:
    """fulltext/pdf/ (no link on the way). Not made here: see `ensure_pdf_folder`."""
    return inside(root, FOLDER, PDF_FOLDER, what="fulltext")


def pdf_file_name(record_id: str) -> str:
    """The PDF's name in fulltext/pdf/, from the record id alone (never from the PDF's own
    name): ids hold ':' and '/', so the id's safe characters and a hash of the whole id, which
    keeps `doi:10.1/a_b` and `doi:10.1/a/b` apart."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", record_id).strip("._-")[:60] or "record"
    digest = hashlib.sha256(record_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return check_name(f"{slug}-{digest}.pdf", "PDF file name", limit=90)


def is_complete(row: list[str]) -> bool:
    return len(row) >= 2 and bool(row[0].strip()) and row[1].strip() in STATES


def read_manifest(root: Path) -> tuple[list[Entry], list[str]]:
    """Every line of the manifest in order (none when there is none yet) and the interrupted
    lines skipped. A line that is not a manifest line is an error naming it."""
    from ..applog import disorder, read_rows

    path = manifest_path(root)
    log = read_rows(path, COLUMNS[0], is_complete)
    entries = []
    for number, row in log.rows:
        cells = ([c.strip() for c in row] + [""] * len(COLUMNS))[: len(COLUMNS)]
        entry = Entry(*cells, line=number)
        problem = _problem(entry)
        if problem:
            raise ScreenerError(
                problem, path=path, line=number, hint="fix that line by hand or restore the file from git"
            )
        entries.append(entry)
    # A union merge interleaves two clones' lines: say so (the timestamps decide, see latest).
    unordered = disorder(path, [(e.line, e.timestamp) for e in entries])
    return entries, [*log.skipped, *([unordered] if unordered else [])]


def _problem(entry: Entry) -> str:
    if not entry.record_id or entry.state not in STATES:
        return f"expected record_id,state,... with state one of {', '.join(STATES)}, found {entry.state!r}"
    if entry.has_file:
        if not _SHA256.fullmatch(entry.sha256):
            return f"state {entry.state} needs the PDF's sha256 (64 hex digits), found {entry.sha256[:70]!r}"
        try:
            # The name becomes a path: it must be the one screener derives from the record id.
            check_name(entry.file, "PDF file name", limit=90)
        except ScreenerError as exc:
            return str(exc)
        if entry.file != pdf_file_name(entry.record_id):
            return f"file {entry.file!r} is not the name screener gives record {entry.record_id}'s PDF"
    return ""


def latest(entries: list[Entry], member_of: dict[str, str] | None = None) -> dict[str, Entry]:
    """The latest line per record, by timestamp with ties in file order (as decision files:
    applog.by_time), so a union merge's line order never decides; with `member_of` (record id ->
    its study after dedup), per study, so a file attached to one copy of a study stays with the
    study."""
    from ..applog import by_time

    out: dict[str, Entry] = {}
    for entry in by_time(entries, lambda e: e.timestamp):
        key = (member_of or {}).get(entry.record_id, entry.record_id)
        out[key] = entry
    return out


def append(root: Path, entries: list[Entry]) -> None:
    """Append lines to the manifest in one fsynced write (applog)."""
    from ..applog import append_rows

    if entries:
        # Stamped no earlier than the latest line in the file, or a line from a clone whose clock
        # runs ahead would outrank this one (latest() folds by timestamp).
        append_rows(
            manifest_path(root),
            COLUMNS,
            [e.row() for e in entries],
            is_complete,
            folders=1,
            stamp_column=COLUMNS.index("timestamp"),
        )


def new_entry(record_id: str, state: str, who: str, **fields: str) -> Entry:
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return Entry(record_id, state, timestamp=stamp, who=who, version=__version__, **fields)


def ensure_pdf_folder(root: Path) -> Path:
    """fulltext/pdf/, made when missing, with a `.gitignore` of its own that ignores everything
    in it: reports are copyrighted, and a review made before `init` wrote the rule must not
    commit them either."""
    from ..names import atomic_write_beneath

    folder = pdf_folder(root)
    ignore = folder / ".gitignore"
    if not ignore.exists() or ignore.is_symlink():
        atomic_write_beneath(ignore, b"# reports are copyrighted: never committed (screener)\n*\n", folders=2)
    return folder
