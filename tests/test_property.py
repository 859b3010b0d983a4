"""Property: whatever bytes a collaborator commits or a user imports, screener answers cleanly.

Hypothesis mutates each kind of file (flip, insert, delete and replace bytes, truncate) in a copy
of a small valid review, then runs the commands that read it. Each must exit 0 or 2, print no
traceback, report an error as one `error: ` line, leave the committed files alone when it
refuses, and change nothing outside the review. Examples are derandomised and bounded, so CI
runs the same inputs every time in about a minute; no shrinking (it could take minutes), so a
failure shows the first mutation that broke it.
"""

from __future__ import annotations

import hashlib
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .hostile.harness import (
    OPEN_RECORD,
    SAMPLES,
    Base,
    Ctx,
    build_base_review,
    committed,
    make_ctx,
    output_problems,
    run_in_process,
    snapshot,
    snapshot_changes,
    stored_name,
)

EXAMPLES = 25
bounded = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)

# Bytes that matter to the formats: line ends, quotes, separators, BOMs, a cut UTF-8 sequence,
# the tags that decide a format, TOML brackets, a path step.
INTERESTING = [
    b"\x00",
    b"\r\n",
    b"\r",
    b"\n",
    b'"',
    b",",
    b";",
    b"\t",
    b"=",
    b"[",
    b"]]",
    b"{",
    b"#",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xc3",
    b"\xe2\x80\xa8",
    b"TY  - ",
    b"ER  - \n",
    b"PMID- ",
    b"@article{",
    b"<?xml",
    b"../",
    b'"""',
    b"\\u0000",
    b"9" * 30,
]
position = st.integers(min_value=0, max_value=1 << 16)
mutation = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(min_value=0, max_value=7)),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=12) | st.sampled_from(INTERESTING)),
    st.tuples(st.just("delete"), position, st.integers(min_value=1, max_value=64)),
    st.tuples(st.just("replace"), position, st.sampled_from(INTERESTING)),
    st.tuples(st.just("truncate"), position),
)
mutations = st.lists(mutation, min_size=1, max_size=4)


def mutate(data: bytes, steps: list[tuple]) -> bytes:
    for kind, where, *arg in steps:
        at = where % (len(data) + 1)
        if kind == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ (1 << arg[0])]) + data[at + 1 :]
        elif kind == "insert":
            data = data[:at] + arg[0] + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + arg[0] :]
        elif kind == "replace":
            data = data[:at] + arg[0] + data[at + len(arg[0]) :]
        elif kind == "truncate":
            data = data[:at]
    return data


READERS = [["status"], ["prisma", "--format", "json"], ["dedup"]]
COMMANDS = [
    *READERS,
    ["conflicts", "--json"],
    ["agreement", "--json"],
    ["label", "--reviewer", "bob", OPEN_RECORD, "include"],
]


@pytest.fixture(scope="module")
def base_review(tmp_path_factory: pytest.TempPathFactory) -> tuple[Base, Path]:
    folder = tmp_path_factory.mktemp("property")
    return build_base_review(folder / "base"), folder


def check_example(
    base: Base, scratch: Path, damage: Callable[[Ctx], tuple[str, ...]], commands: list[list[str]]
) -> list[str]:
    """Copy the review, damage it, run the commands; every problem found. `damage` returns the
    names a refusal by status, prisma or dedup may give (none: they must exit 0)."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        ctx = make_ctx(Path(tmp), base)
        damaged = damage(ctx)
        env = {"SCREENER_CACHE_DIR": str(ctx.cache)}
        outside = snapshot(ctx.tmp, ctx.review, ctx.cache)
        problems = []
        for argv in commands:
            argv = [ctx.expand(arg) for arg in argv]
            before = committed(ctx.review)
            outcome = run_in_process(argv, ctx.review, env)
            problems += output_problems(outcome)
            if outcome.code == 2:
                if argv in READERS and not any(name in outcome.error_line() for name in damaged):
                    named = " or ".join(damaged) or "nothing: the review is undamaged"
                    problems.append(f"{outcome.describe()}: a reader refused; it may name {named}")
                changes = snapshot_changes(before, committed(ctx.review))
                problems += [f"{outcome.describe()}: refused, yet {c}" for c in changes]
        problems += snapshot_changes(outside, snapshot(ctx.tmp, ctx.review, ctx.cache))
        return problems


def damage_file(relative: str, steps: list[tuple], provenance: str = "") -> Callable[[Ctx], tuple[str, ...]]:
    """Mutate review/relative; with `provenance` (the searches toml listing it), record the new
    sha256 there too, as a collaborator who re-exported and committed both would."""

    def run(ctx: Ctx) -> tuple[str, ...]:
        path = ctx.review / relative
        data = mutate(path.read_bytes(), steps)
        path.write_bytes(data)
        if provenance:
            toml = ctx.review / provenance
            table = tomllib.loads(toml.read_text(encoding="utf-8"))
            for entry in table["files"]:
                if entry["path"] == Path(relative).name:
                    entry["sha256"] = hashlib.sha256(data).hexdigest()
            toml.write_text(tomli_w.dumps(table), encoding="utf-8")
        return (Path(relative).name, Path(provenance).name) if provenance else (Path(relative).name,)

    return run


def assert_clean(problems: list[str], steps: list[tuple]) -> None:
    assert not problems, f"mutation {steps!r}:\n" + "\n".join(problems)


@bounded
@given(steps=mutations)
def test_mutated_review_toml(base_review, steps):
    base, scratch = base_review
    assert_clean(check_example(base, scratch, damage_file("review.toml", steps), COMMANDS), steps)


@bounded
@given(steps=mutations)
def test_mutated_search_toml(base_review, steps):
    base, scratch = base_review
    assert_clean(check_example(base, scratch, damage_file("searches/embase.toml", steps), COMMANDS), steps)


@pytest.mark.parametrize(
    "raw", ["embase.ris", "medline.nbib", "rayyan.csv", "wos.ciw"], ids=lambda name: name.split(".")[1]
)
@bounded
@given(steps=mutations)
def test_mutated_raw_export_with_its_provenance(base_review, raw, steps):
    base, scratch = base_review
    search = raw.split(".")[0]
    damage = damage_file(f"searches/{stored_name(raw, search)}", steps, provenance=f"searches/{search}.toml")
    assert_clean(check_example(base, scratch, damage, COMMANDS), steps)


@bounded
@given(steps=mutations)
def test_mutated_labels_file(base_review, steps):
    base, scratch = base_review
    damage = damage_file("labels/title-abstract/alice.csv", steps)
    commands = [*COMMANDS, ["label", "--reviewer", "alice", OPEN_RECORD, "exclude"]]
    assert_clean(check_example(base, scratch, damage, commands), steps)


@bounded
@given(steps=mutations)
def test_mutated_dedup_decisions(base_review, steps):
    base, scratch = base_review
    assert_clean(check_example(base, scratch, damage_file("labels/dedup.csv", steps), COMMANDS), steps)


@pytest.mark.parametrize("sample", ["pubmed.xml", "scopus.bib", "endnote.xml", "ovid.ris", "asreview.csv"])
@bounded
@given(steps=mutations)
def test_mutated_export_imported(base_review, sample, steps):
    """A damaged export handed to `import`, then the readers on the review."""
    base, scratch = base_review

    def damage(ctx: Ctx) -> tuple[str, ...]:
        (ctx.inputs / sample).write_bytes(mutate((SAMPLES / sample).read_bytes(), steps))
        return ()  # the review is undamaged: whatever import did, the readers exit 0

    commands = [["import", f"@IN@/{sample}", "--search", "fuzz"], *READERS]
    assert_clean(check_example(base, scratch, damage, commands), steps)
