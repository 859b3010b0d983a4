"""What the screen shows, cached: the studies with their abstracts read when needed, and each
screener's saved order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ...errors import ScreenerError
from ...records import Record
from .. import Arrivals
from .session import ScreenSession

# Bump when what the studies cache holds changes shape.
STUDIES_CACHE_VERSION = "6"
# How long quitting the screen waits for the studies' cache entry being written.
QUIT_WAIT_SECONDS = 5.0



def _studies_key(review) -> str | None:  # noqa: ANN001 - Review
    """A hash of everything the deduplicated studies come from: each search file (its exports'
    sha256, checked against the files: None when one was not verified since it last changed, so
    the slow path verifies it), labels/dedup.csv, labels/ids.csv, review.toml, what labels/began/
    says of the exports' arrivals, and the code that computes them."""
    import hashlib

    from ... import __version__
    from ...names import read_regular_bytes
    from ...review import PARSE_CACHE_VERSION

    digest = hashlib.sha256(f"{STUDIES_CACHE_VERSION}|{__version__}|{PARSE_CACHE_VERSION}".encode())
    package = Path(__file__).resolve().parents[2]
    code = sorted((package / "dedup").glob("*.py")) + sorted((package / "review").glob("*.py")) + [
        package / "normalise.py",  # the dedup rules' field keys
        package / "records.py",
        package / "screening" / "__init__.py",
        package / "screening" / "began.py",
    ]
    for source in code:  # a new dedup rule or record field is a new key, whatever the version says
        digest.update(source.read_bytes())
    for search in review.searches():
        for f in search.files:
            if review._verified_signature(review.raw_file_path(f), f.sha256) is None:
                return None
        # The whole search file: its files' hashes, formats and rounds, and its kind, database
        # and dates, which decide which copy represents a study.
        digest.update(f"{search.name}\0".encode())
        digest.update(read_regular_bytes(review.search_toml_path(search.name)) + b"\0")
    from ...dedup.split_ids import ids_path

    # labels/began/: the exports some reviewer began a round without, whose studies the arrivals
    # name with their copies' exports (a line that lacks none, as every line this clone writes,
    # leaves the entry in place).
    from ..began import listed_rounds, not_held

    unheld = frozenset().union(*not_held(review.labels_dir, listed_rounds(review)).values())
    digest.update(repr(sorted(unheld)).encode() + b"\0")
    # labels/ids.csv: the split ids dedup recorded (a merge or a hand may change it).
    for path in (review.dedup_decisions_path, review.config_path, ids_path(review)):
        if path.exists() or path.is_symlink():
            digest.update(read_regular_bytes(path))
        digest.update(b"\0")
    return digest.hexdigest()[:32]



def screen_studies(review) -> tuple[list[Record], dict[str, str]]:  # noqa: ANN001 - Review
    """screening.review_studies(review), from the cache when nothing it comes from changed
    (see `screen_studies_lazy`), every abstract in place."""
    studies, member_of, abstracts = screen_studies_lazy(review)
    if abstracts is not None:
        abstracts.fill_all()
    return studies, member_of



def screen_studies_lazy(review) -> tuple[list[Record], dict[str, str], LazyAbstracts | None]:  # noqa: ANN001
    """The deduplicated studies and the map from every record id to its study, as
    screening.review_studies computes them, from a cache when nothing they come from changed.

    Reading, deduplicating and merging 20,000 records takes seconds even with the parse and
    dedup caches; the cached studies load in a fraction of that, and their abstracts (four
    fifths of the bytes) are read when needed: `LazyAbstracts` (None: every abstract is in
    place). The cache can never change a result: its key covers every input and the code, and
    an entry of the wrong shape is rebuilt.
    """
    studies, member_of, abstracts, save, *_ = screen_studies_deferred(review)
    if save is not None:
        save()
    return studies, member_of, abstracts


class ScreenStudies(NamedTuple):
    """What the screen starts from (screen_studies_deferred)."""

    studies: list[Record]
    member_of: dict[str, str]
    abstracts: LazyAbstracts | None  # None: every abstract is in place
    save: Callable[[], None] | None  # writes the cache entry; None: read from it
    rounds: dict[str, int]  # screening.study_rounds: the round of each study after an update
    arrivals: Arrivals  # screening.study_arrivals: when each study's copies came, for late_arrivals


def screen_studies_deferred(review) -> ScreenStudies:  # noqa: ANN001
    """screen_studies_lazy, with each study's round, and the cache entry left to write: `save`
    None when the studies came from the cache, else what writes them there. The screen calls
    it in the background once the first record is on screen: at 100,000 records packing and
    writing them takes over a second of the start. Nothing may change the studies before
    `save` has run. The rounds are kept with the studies: after an update, working them out
    takes a deduplication of every record (a second at 100,000), at every start; so are the
    arrivals: with a file imported after screening began, reading every record again (1.5 s)."""
    from ...importers import gc_paused
    from ...review import _RECORD_FIELDS
    from ...textio import load_marshalled

    key = _studies_key(review)
    path = review.cache_dir / "studies" / f"{key}.marshal" if key else None
    if path is not None and path.exists():
        try:
            with gc_paused():  # 20,000 records: a collection pass per thousand objects made costs seconds
                fields, rows, member_of, rounds, arrivals, stored_key, digest = load_marshalled(path)
                if tuple(fields) != _RECORD_FIELDS:
                    raise ValueError("written by another version")
                if stored_key != key:  # an entry copied or renamed under this key
                    raise ValueError("an entry of other inputs")
                studies = [Record(*row) for row in rows]
            ids = {r.id for r in studies}
            shaped = all(isinstance(r.id, str) and isinstance(r.title, str) for r in studies)
            if (
                not shaped
                or not isinstance(member_of, dict)
                or not all(isinstance(k, str) for k in member_of)
                or not ids.issuperset(member_of.values())
                or not isinstance(rounds, dict)
                or not ids.issuperset(rounds)
                or not all(type(n) is int and n > 1 for n in rounds.values())
                or not _arrivals_shaped(arrivals, ids)
            ):
                raise ValueError("cache entry of the wrong shape")
            abstracts = LazyAbstracts(path.with_suffix(".abstracts"), studies, digest)
            return ScreenStudies(studies, member_of, abstracts, None, rounds, arrivals)
        except Exception:  # noqa: BLE001 - a damaged or planted entry is rebuilt, never trusted
            pass
    studies, member_of, rounds, arrivals = _computed(review)
    save = None if path is None else lambda: _save_studies(path, key, studies, member_of, rounds, arrivals)
    return ScreenStudies(studies, member_of, None, save, rounds, arrivals)


def _arrivals_shaped(arrivals: object, ids: set[str]) -> bool:
    """A cached study_arrivals answer: study -> (its earliest copy's arrival, only other methods,
    its copies' exports or ())."""
    if not isinstance(arrivals, dict) or not ids.issuperset(arrivals):
        return False
    return all(
        isinstance(value, tuple)
        and len(value) == 3
        and type(value[0]) is float
        and type(value[1]) is bool
        and type(value[2]) is tuple
        and all(type(sha256) is str for sha256 in value[2])
        for value in arrivals.values()
    )


def _computed(review) -> tuple[list[Record], dict[str, str], dict[str, int], Arrivals]:  # noqa: ANN001
    """The studies, the map from record ids to them, their rounds and their copies' arrivals,
    from one deduplication."""
    from ...dedup import dedup_review
    from .. import review_studies, study_arrivals, study_rounds

    outcome = dedup_review(review)
    studies, member_of = review_studies(review, outcome)
    rounds = study_rounds(review, member_of, outcome)
    # outcome's records: review.records()' order, ids as member_of has them
    return studies, member_of, rounds, study_arrivals(review, outcome.result.records, member_of)


def leave_studies(review) -> None:  # noqa: ANN001 - Review
    """Store the studies in the screen's cache unless they are there already: `screener dedup`
    leaves them, so the screen's first start reads them instead of merging every record again
    (about a second at 100,000)."""
    key = _studies_key(review)
    if key is None:
        return
    path = review.cache_dir / "studies" / f"{key}.marshal"
    if path.exists() and path.with_suffix(".abstracts").exists():
        return
    _save_studies(path, key, *_computed(review))


def save_apart(save: Callable[[], None]) -> Callable[[], None]:
    """Run `save` (a cache write) in a child process forked now, where the system can fork:
    the screen goes on at once, on the other core, without sharing the interpreter's lock
    with it (packing 100,000 studies holds that lock for tenths of a second at a time, and a
    keystroke would wait). Call it while the process has no other thread: the child is a copy
    of this one thread. Returns what waits for the write to end, QUIT_WAIT_SECONDS at most
    (the screen calls it when it quits). Elsewhere, a thread does the work."""
    import os

    if not hasattr(os, "fork"):
        import threading

        thread = threading.Thread(target=save, daemon=True)
        thread.start()
        return thread.join
    pid = os.fork()
    if pid == 0:  # the child: write, then leave at once, never back into the screen
        try:
            import signal

            for name in ("SIGINT", "SIGWINCH", "SIGALRM", "SIGTSTP"):
                if hasattr(signal, name):  # keys and resizes are the screen's, not this copy's
                    signal.signal(getattr(signal, name), signal.SIG_IGN)
            # Nothing of the screen's: not the terminal, and not the session lock's descriptor
            # (a restart after Ctrl-C would find the lock still held while this child writes).
            nowhere = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(nowhere, fd)
            os.closerange(3, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536)
            save()
        finally:
            os._exit(0)

    import threading

    def reap() -> None:  # at once when the child ends: no zombie for the rest of the session
        try:
            os.waitpid(pid, 0)
        except (ChildProcessError, InterruptedError):
            pass

    reaper = threading.Thread(target=reap, daemon=True)
    reaper.start()

    def wait() -> None:
        # A slow or stuck cache disk must not hold the reviewer at quitting: after a few
        # seconds the child is left to finish on its own (it holds nothing of the screen's).
        reaper.join(QUIT_WAIT_SECONDS)

    return wait


def _save_studies(
    path: Path,
    key: str,
    studies: list[Record],
    member_of: dict[str, str],
    rounds: dict[str, int],
    arrivals: Arrivals,
) -> None:
    """Write the studies' cache entry: their fields without the abstracts, and the abstracts
    beside them (LazyAbstracts); a cache that cannot be written is left alone (slower, never
    wrong)."""
    import hashlib
    import marshal

    from ...importers import gc_paused
    from ...review import _RECORD_FIELDS
    from ...textio import atomic_write_bytes

    at = _RECORD_FIELDS.index("abstract")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with gc_paused():
            rows = [tuple(r.__dict__.values()) for r in studies]
            rows = [row[:at] + ("",) + row[at + 1 :] for row in rows]
            packed = LazyAbstracts.pack(studies)
            digest = hashlib.sha256(packed).hexdigest()
            data = marshal.dumps((_RECORD_FIELDS, rows, member_of, rounds, arrivals, key, digest))
        # The abstracts first: a studies entry is only ever read beside its abstracts.
        atomic_write_bytes(path.with_suffix(".abstracts"), packed, durable=False)
        atomic_write_bytes(path, data, durable=False)
        for stale in sorted(path.parent.glob("*.marshal"), key=lambda f: f.stat().st_mtime)[:-3]:
            stale.unlink(missing_ok=True)  # keep the few latest
            stale.with_suffix(".abstracts").unlink(missing_ok=True)
        import time

        for left in path.parent.glob(".*.tmp"):  # a writer killed mid-write (an hour is plenty)
            if left.lstat().st_mtime < time.time() - 3600:
                left.unlink(missing_ok=True)
    except Exception:  # noqa: BLE001, S110 - a read-only or full cache: slower, never wrong
        pass  # (and in the screen's background, never a traceback on the reviewer's screen)



class LazyAbstracts:
    """The abstracts of cached studies, read when needed: one record's when it is drawn, every
    one before a search or the ranking reads them (`fill_all`, also run in the background once
    the first record is on screen). The file: 8 bytes giving the length of a marshalled list of
    offsets, that list, then every abstract in UTF-8, one after the other."""

    def __init__(self, path: Path, records: list[Record], digest: str = "") -> None:
        import itertools
        import marshal
        import os
        import threading

        from ...textio import open_cache_file

        self.path = path
        self.digest = digest  # sha256 of the whole file, checked when every abstract is read
        self.records = records
        self.lock = threading.Lock()
        self.filled = False
        # Kept open for the session: opening a file costs milliseconds on some file systems.
        self.handle = os.fdopen(open_cache_file(path), "rb")
        size = int.from_bytes(self.handle.read(8), "little")
        if size > os.fstat(self.handle.fileno()).st_size:
            raise ValueError("abstracts' header damaged")
        self.offsets = marshal.loads(self.handle.read(size))
        self.start = 8 + size
        if not isinstance(self.offsets, list) or len(self.offsets) != len(records) + 1:
            raise ValueError("abstracts of another entry")
        # Whole numbers from 0, never going back: a planted header must not reach pread.
        if self.offsets[0] != 0 or not all(type(o) is int for o in self.offsets):
            raise ValueError("abstracts' offsets damaged")
        if any(b < a for a, b in itertools.pairwise(self.offsets)):
            raise ValueError("abstracts' offsets damaged")
        if os.fstat(self.handle.fileno()).st_size != self.start + self.offsets[-1]:
            raise ValueError("abstracts cut short or grown")  # rebuilt before the screen opens
        self.index = {r.id: k for k, r in enumerate(records)}
        self.loaded: set[str] = set()

    @staticmethod
    def pack(records: list[Record]) -> bytes:
        import marshal

        blobs = [r.abstract.encode("utf-8", "surrogatepass") for r in records]
        offsets = [0]
        for blob in blobs:
            offsets.append(offsets[-1] + len(blob))
        header = marshal.dumps(offsets)
        return len(header).to_bytes(8, "little") + header + b"".join(blobs)

    def ensure(self, record: Record) -> None:
        """This record's abstract in place (a read of its bytes alone)."""
        if self.filled or record.id in self.loaded:
            return
        k = self.index.get(record.id)
        if k is None:
            return
        import os

        length = self.offsets[k + 1] - self.offsets[k]
        data = os.pread(self.handle.fileno(), length, self.start + self.offsets[k])
        if len(data) != length:
            raise self._changed()
        try:
            record.abstract = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise self._changed() from None
        self.loaded.add(record.id)

    def _changed(self) -> ScreenerError:
        # The entry goes, so the next start rebuilds it instead of meeting it again.
        for stale in (self.path, self.path.with_suffix(".marshal")):
            try:
                stale.unlink(missing_ok=True)
            except OSError:
                pass
        return ScreenerError(
            "changed or was damaged while the screen was reading it",
            path=self.path,
            hint="start the screen again (your decisions are all saved); the cache is rebuilt",
        )

    def fill_in_background(self) -> None:
        """fill_all for a background thread: a failure is left for the next reader to report
        (in one line), never a traceback on the reviewer's screen."""
        try:
            self.fill_all()
        except Exception:  # noqa: BLE001, S110 - ensure() or find() meets it and says what it is
            pass

    def fill_all(self) -> None:
        """Every abstract in place (once; later calls return at once)."""
        import os

        with self.lock:
            if self.filled:
                return
            blob = os.pread(self.handle.fileno(), self.offsets[-1] + 1, self.start)
            if len(blob) != self.offsets[-1]:
                raise self._changed()
            if self.digest:
                import hashlib

                whole = os.pread(self.handle.fileno(), self.start, 0) + blob
                if hashlib.sha256(whole).hexdigest() != self.digest:
                    raise self._changed()
            offsets = self.offsets
            try:
                for k, record in enumerate(self.records):
                    record.abstract = blob[offsets[k] : offsets[k + 1]].decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                raise self._changed() from None
            self.filled = True



def _order_path(review, session: ScreenSession, reviewer: str, settings: str) -> Path:  # noqa: ANN001
    """Where the ranking a session ended with is kept: keyed by the reviewer's decision file as
    it is, the records in their order and the ranking settings, so it is only ever used for
    exactly the decisions it was trained on."""
    import hashlib

    from ... import __version__

    digest = hashlib.sha256(f"{__version__}|{reviewer}|{session.stage}|{settings}".encode())
    for record in session.records:
        digest.update(record.id.encode("utf-8", "surrogateescape") + b"\0")
    if session.log.path.exists():
        from ...names import read_regular_bytes

        digest.update(read_regular_bytes(session.log.path))
    return review.cache_dir / "screen-order" / f"{digest.hexdigest()[:32]}.marshal"



def load_saved_order(review, session: ScreenSession, reviewer: str, settings: str) -> bool:  # noqa: ANN001
    """Put the queue in the order the last session's ranking left it, when the decisions have
    not changed since (else nothing changes). Returns whether it did."""
    import marshal

    path = _order_path(review, session, reviewer, settings)
    try:
        ids = marshal.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - none yet, or damaged: the order stays
        return False
    if not isinstance(ids, list) or sorted(ids) != sorted(session.by_id):
        return False
    rank = {rid: k for k, rid in enumerate(ids)}
    session.queue.sort(key=rank.__getitem__)
    return True



def save_order(review, session: ScreenSession, reviewer: str, settings: str, ids: list[str] | None) -> None:  # noqa: ANN001, E501
    import marshal

    from ...textio import atomic_write_bytes

    if ids is None:
        return
    path = _order_path(review, session, reviewer, settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, marshal.dumps(list(ids)), durable=False)
        for stale in sorted(path.parent.glob("*.marshal"), key=lambda f: f.stat().st_mtime)[:-8]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


def _searches_signature(folder: Path) -> tuple:
    """Every search file's name, size and modification time: what a pull or an import changes."""
    try:
        with os.scandir(folder) as entries:
            return tuple(
                sorted(
                    (e.name, e.stat(follow_symlinks=False).st_size, e.stat(follow_symlinks=False).st_mtime_ns)
                    for e in entries
                    if e.name.endswith(".toml")
                )
            )
    except OSError:
        return ()


def _searches_content(folder: Path) -> str:
    """A hash of every search file's name and bytes ("" when the folder cannot be read)."""
    import hashlib

    from ...names import read_regular_bytes

    digest = hashlib.sha256()
    try:
        for path in sorted(folder.glob("*.toml")):
            name = path.name.encode("utf-8", "surrogateescape")
            digest.update(name + b"\0" + read_regular_bytes(path) + b"\0")
    except (OSError, ScreenerError):
        return ""
    return digest.hexdigest()


def searches_changed(review, every: float = 1.0) -> Callable[[], str | None]:  # noqa: ANN001 - Review
    """For the screen: a sentence once the review's searches changed on disk since now (a git
    pull, an import or a removal in another terminal), else None. The screen holds the records
    it started with: what changed is in none of its queue, and its stopping statement does not
    cover it. Looked at most once every `every` seconds: a handful of stat calls, and the files
    read only when those moved (a `touch` changes nothing)."""
    folder = review.searches_dir
    state = {"stat": _searches_signature(folder), "checked": time.monotonic(), "said": None}
    start = _searches_content(folder)

    def changed() -> str | None:
        now = time.monotonic()
        if state["said"] is None and now - state["checked"] >= every:
            state["checked"] = now
            signature = _searches_signature(folder)
            if signature != state["stat"]:
                state["stat"] = signature
                if _searches_content(folder) != start:
                    state["said"] = (
                        "The review's searches changed since this screen started (a pull, an import "
                        "or a removal): q, then start the screen again to screen what changed; until "
                        "then the stopping rule speaks only of the records this screen holds."
                    )
        return state["said"]

    return changed
