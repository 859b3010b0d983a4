"""Run `screener` the way a user would, and check what they would see.

In-process runs call `screener.cli.main` (the heavy imports load once, so a case costs
milliseconds); a few cases run the installed `screener` script in a subprocess, with a time-out
and a memory cap, for inputs that could hang or exhaust memory (a FIFO, /dev/zero) and to check
that both paths agree. Neither ever reads the terminal or touches the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "samples"
SCREENER = Path(sys.executable).parent / "screener"

REVIEWERS = ("alice", "bob", "carol:resolver")
# Imported into the base review under these search names.
BASE_IMPORTS = (
    ("embase.ris", "embase"),
    ("medline.nbib", "medline"),
    ("rayyan.csv", "rayyan"),
    ("wos.ciw", "wos"),
)
# A record every screener can still decide at title-abstract (bob has not).
OPEN_RECORD = "pmid:18345317"
CONFLICT_RECORD = "pmid:16511671"  # alice includes it, bob excludes it


def stored_name(sample: str, search: str) -> str:
    """The name `import` stores a sample under in searches/: the search and its content's hash."""
    digest = hashlib.sha256((SAMPLES / sample).read_bytes()).hexdigest()[:8]
    return f"{search}-{digest}{Path(sample).suffix}"


# A subprocess case may not use more memory than this (reading /dev/zero must fail, not swap).
SUBPROCESS_MEMORY = 4 << 30


def _closed_port() -> int:
    """A local TCP port nobody listens on: a PubMed search fails at once, with no traffic."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Every run, in-process or not: no real NCBI, no retry sleeps, an e-mail so the client starts.
BASE_ENV = {
    "NCBI_EMAIL": "hostile-tests@example.org",
    "SCREENER_EUTILS_URL": f"http://127.0.0.1:{_closed_port()}/",
    "SCREENER_EUTILS_BACKOFF": "0",
    "NO_COLOR": "1",
    "COLUMNS": "120",
}
# In-process only: an unforeseen exception propagates, so a report shows where it was raised.
DEBUG_ENV = {"SCREENER_DEBUG": "1"}


@dataclass
class Outcome:
    """What a user saw: exit code, stdout, stderr; `crash` is the uncaught exception, if any."""

    argv: list[str]
    code: int
    out: str
    err: str
    crash: str = ""
    hung: bool = False

    def error_line(self) -> str:
        lines = [line for line in self.err.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def describe(self) -> str:
        shown = " ".join(repr(a) if (not a or set(a) & set(" \n\x00")) else a for a in self.argv)
        if self.hung:
            return f"`screener {shown}` hung (killed after its time-out)"
        if self.crash:
            return f"`screener {shown}` crashed: {self.crash}"
        return f"`screener {shown}` exit {self.code}: {self.err.strip()[-400:]!r}"


def output_problems(
    outcome: Outcome, expect: frozenset[int] = frozenset((0, 2)), mentions: str = ""
) -> list[str]:
    """What is wrong with what the user saw: an exit code other than `expect` (always within 0
    and 2), a traceback, an error that is not one `error: ` line (naming `mentions`)."""
    if outcome.hung or outcome.crash:
        return [outcome.describe()]
    problems = []
    if outcome.code not in (0, 2):
        problems.append(f"exit code {outcome.code} is neither 0 nor 2")
    elif outcome.code not in expect:
        problems.append(f"exit code {outcome.code}, expected {' or '.join(map(str, sorted(expect)))}")
    if "Traceback (most recent call last)" in outcome.err + outcome.out:
        problems.append("a traceback was printed")
    if outcome.code == 0 and _asks_for_json(outcome.argv):
        problem = json_problem(outcome.out)
        if problem:
            problems.append(f"--json printed what a JSON parser rejects ({problem})")
    if outcome.code == 2:
        lines = [line for line in outcome.err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error: ")]
        if len(errors) != 1 or lines[-1] != errors[0]:
            problems.append("the error is not a single line starting 'error: ' at the end of stderr")
        elif mentions and mentions not in errors[0]:
            problems.append(f"the error does not name {mentions!r}")
    return [f"{outcome.describe()}: {p}" for p in problems] if problems else []


def _asks_for_json(argv: list[str]) -> bool:
    return "--json" in argv or any(
        a == "--format" and b == "json" for a, b in zip(argv, argv[1:], strict=False)
    )


def json_problem(text: str, strict: bool = False) -> str:
    """Why a script could not read `text` as JSON, or ''. Python's parser takes NaN and
    Infinity; `strict` refuses them as JSON itself does (one case checks that)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    try:
        json.loads(text, parse_constant=refuse) if strict else json.loads(text)
    except ValueError as exc:
        return str(exc).splitlines()[0][:120]
    return ""


@contextlib.contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _last_frames(exc: BaseException) -> str:
    """The traceback's last lines, where a report to the fixers starts."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = frames[-1] if frames else None
    place = f" at {Path(where.filename).name}:{where.lineno} in {where.name}" if where else ""
    message = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {message}{place}"


def run_in_process(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Outcome:
    """`screener ARGV` through `screener.cli.main`, in `cwd`, stdin empty, output captured."""
    out, err = io.StringIO(), io.StringIO()
    code, crash = 0, ""
    here = os.getcwd()
    try:
        os.chdir(cwd)
    except OSError as exc:
        return Outcome(
            argv, 1, "", "", crash=f"cannot enter the review ({exc.strerror}): it was deleted or moved"
        )
    stdin = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        with (
            _environment(BASE_ENV | DEBUG_ENV | (env or {})),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException as exc:  # noqa: BLE001 - what a user would see as a traceback
                code, crash = 1, _last_frames(exc)
    finally:
        sys.stdin = stdin
        os.chdir(here)
    return Outcome(argv, code, out.getvalue(), err.getvalue(), crash)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY, SUBPROCESS_MEMORY))


def run_subprocess(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> Outcome:
    """The installed `screener` script: stdin /dev/null, no controlling terminal, memory capped."""
    process = subprocess.Popen(
        [str(SCREENER), *argv],
        cwd=cwd,
        env=os.environ | BASE_ENV | (env or {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # no /dev/tty to fall back on
        preexec_fn=_limit_memory,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        return Outcome(argv, -9, out.decode(errors="replace"), err.decode(errors="replace"), hung=True)
    text = err.decode(errors="replace")
    crash = ""
    if process.returncode not in (0, 2) and "Traceback" in text:
        crash = text.strip().splitlines()[-1][:300]
    return Outcome(argv, process.returncode, out.decode(errors="replace"), text, crash)


LEGACY_CACHE = ".screener"  # where old versions kept their cache: not a committed file

# -- what must not change ----------------------------------------------------------------------


def snapshot(top: Path, *skip: Path) -> dict[str, tuple]:
    """Every path under `top` but the `skip` folders: its type, mode and bytes (links by target;
    FIFOs and devices by type only, never opened)."""
    entries: dict[str, tuple] = {}
    for directory, dirnames, filenames in os.walk(top):
        here = Path(directory)
        dirnames[:] = [name for name in dirnames if here / name not in skip]
        for name in dirnames + filenames:
            path = here / name
            info = os.lstat(path)
            key = str(path.relative_to(top))
            if stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                entries[key] = (
                    "file",
                    stat.S_IMODE(info.st_mode),
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
            elif stat.S_ISDIR(info.st_mode):
                entries[key] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                entries[key] = ("special", stat.S_IFMT(info.st_mode))
    return entries


def snapshot_changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    changes = [f"created outside the review: {p}" for p in sorted(after.keys() - before.keys())]
    changes += [f"deleted outside the review: {p}" for p in sorted(before.keys() - after.keys())]
    changes += [
        f"changed outside the review: {p}" for p in sorted(before) if p in after and before[p] != after[p]
    ]
    return changes


class Base(NamedTuple):
    review: Path
    cache: Path  # its folder in the user's cache


@dataclass
class Ctx:
    """Where one case runs: tmp/outer/review, tmp/outer/sentinel, tmp/inputs, tmp/cache."""

    tmp: Path
    outer: Path
    review: Path
    inputs: Path
    cache: Path  # SCREENER_CACHE_DIR
    review_cache: Path  # this review's folder in it

    def expand(self, text: str) -> str:
        return text.replace("@OUT@", str(self.outer)).replace("@IN@", str(self.inputs))

    def locate(self, relative: str) -> Path:
        if relative == "@CACHE@" or relative.startswith("@CACHE@/"):
            return self.review_cache / relative.removeprefix("@CACHE@").lstrip("/")
        return self.review / relative


# -- the base review ---------------------------------------------------------------------------


def review_cache(review: Path, cache_root: Path) -> Path:
    """The review's folder in the user's cache when SCREENER_CACHE_DIR is `cache_root`."""
    from screener.review import Review

    with _environment({"SCREENER_CACHE_DIR": str(cache_root)}):
        return Review(review).cache_dir


def build_base_review(folder: Path) -> Base:
    """folder/review, a small valid review: three reviewers, four searches, a conflict, a dedup
    decision; and its warm cache in folder/cache."""
    root, cache_root = folder / "review", folder / "cache"
    folder.mkdir(parents=True, exist_ok=True)

    def ok(*argv: str, cwd: Path = root) -> None:
        outcome = run_in_process(list(argv), cwd, {"SCREENER_CACHE_DIR": str(cache_root)})
        assert outcome.code == 0 and not outcome.crash, outcome.describe()

    ok(
        "init",
        str(root),
        "--title",
        "Hostile inputs",
        *(f"--reviewer={r}" for r in REVIEWERS),
        cwd=root.parent,
    )
    for sample, search in BASE_IMPORTS:
        ok("import", str(SAMPLES / sample), "--search", search, "--database", search.capitalize())
    ok("label", "--reviewer", "alice", CONFLICT_RECORD, "include")
    ok("label", "--reviewer", "bob", CONFLICT_RECORD, "exclude", "--note", "wrong population, I think")
    ok("label", "--reviewer", "alice", OPEN_RECORD, "include")
    ok("label", "--reviewer", "alice", "embase:L50460001", "exclude")
    (root / "labels" / "dedup.csv").write_text(
        "record_id_1,record_id_2,decision,reviewer,timestamp,version\n"
        "embase:L50460001,pmid:18345317,different,alice,2024-01-01T00:00:00+00:00,0.1.0\n"
    )
    for warm in (
        ["status"],
        ["dedup"],
        ["prisma", "--format", "json"],
        ["rank", "--reviewer", "bob", "--json"],
    ):
        ok(*warm)
    return Base(root, review_cache(root, cache_root))


def make_ctx(tmp: Path, base: Base) -> Ctx:
    """tmp/outer/review (a copy of the base), tmp/outer/sentinel and the targets absolute or
    escaping names would hit, tmp/inputs for the files handed to commands, tmp/cache for the
    user's cache (the base's warm cache copied to the copy's place in it)."""
    outer = tmp / "outer"
    review = outer / "review"
    cache = tmp / "cache"
    ctx = Ctx(tmp, outer, review, tmp / "inputs", cache, review_cache(review, cache))
    shutil.copytree(base.review, ctx.review, symlinks=True)
    shutil.copytree(base.cache, ctx.review_cache, symlinks=True)
    ctx.inputs.mkdir()
    (outer / "sentinel" / "dir").mkdir(parents=True)
    (outer / "sentinel" / "secret.txt").write_text("TOP-SECRET\n")
    (outer / "sentinel" / "dir" / "keep.csv").write_text("record_id,decision\nx,include\n")
    (outer / "abs").mkdir()
    (outer / "abs" / "keep.txt").write_text("keep\n")
    for name in ("abs.csv", "abs.toml", "escaped.csv", "evil.toml"):
        (outer / name).write_text("sentinel\n")
    return ctx


def committed(review: Path) -> dict[str, tuple]:
    """The review's own files (its cache aside): what a refused command must leave alone."""
    return snapshot(review, review / LEGACY_CACHE) if review.is_dir() else {}
