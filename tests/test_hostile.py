"""Issue #13's corpus: malformed, truncated, mis-encoded and hostile inputs, each run through the CLI.

For every case (tests/hostile/corpus.py): each command exits 0 or 2 (the one the case expects),
prints no traceback, and reports an error as one `error: ` line; a refused command leaves the
review's committed files as they were; nothing outside the review is created, changed or
deleted (a sentinel tree sits beside it); and afterwards `status`, `prisma` and `dedup` still
read the review (exit 0, or exit 2 naming the file the case damaged).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .hostile.corpus import CASES, Case, cmd
from .hostile.harness import (
    Base,
    Ctx,
    Outcome,
    build_base_review,
    committed,
    json_problem,
    make_ctx,
    output_problems,
    run_in_process,
    run_subprocess,
    snapshot,
    snapshot_changes,
)

Runner = Callable[[list[str], Path, dict[str, str]], Outcome]
READERS = (["status"], ["prisma", "--format", "json"], ["dedup"])


@pytest.fixture(scope="module")
def base_review(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base_review(tmp_path_factory.mktemp("hostile-base"))


def run_case(case: Case, ctx: Ctx, runner: Runner, readers: Runner | None) -> tuple[list[str], list[Outcome]]:
    """Every problem the case reveals, and what each command printed (`readers` None: the case's
    commands only, not the check that the review stays readable)."""
    if case.prepare:
        case.prepare(ctx)
    cache_env = {"SCREENER_CACHE_DIR": str(ctx.cache)}
    outside = snapshot(ctx.tmp, ctx.review, ctx.cache)
    problems: list[str] = []
    outcomes = []
    for command in case.commands:
        argv = [ctx.expand(arg) for arg in command.argv]
        before = committed(ctx.review)
        outcome = runner(argv, ctx.review, cache_env | dict(command.env))
        outcomes.append(outcome)
        problems += output_problems(outcome, command.expect, command.mentions)
        if outcome.code == 2:
            problems += [
                f"{outcome.describe()}: refused, yet {change.replace('outside the review', 'in the review')}"
                for change in snapshot_changes(before, committed(ctx.review))
            ]
    problems += snapshot_changes(outside, snapshot(ctx.tmp, ctx.review, ctx.cache))
    if case.verify:
        problems += case.verify(ctx, outcomes)
    if readers is None:
        return problems, outcomes
    # The review stays readable: the readers exit 0, or refuse naming the file the case damaged.
    outside = snapshot(ctx.tmp, ctx.review, ctx.cache)
    for argv in READERS:
        outcome = readers(list(argv), ctx.review, cache_env)
        found = output_problems(outcome, frozenset((0, 2)) if case.damaged else frozenset((0,)))
        if not found and outcome.code == 2 and not any(name in outcome.error_line() for name in case.damaged):
            found = [f"{outcome.describe()}: the refusal names none of {', '.join(case.damaged)}"]
        problems += [f"afterwards, {p}" for p in found]
    after = snapshot(ctx.tmp, ctx.review, ctx.cache)
    problems += [f"{p} (by status/prisma/dedup)" for p in snapshot_changes(outside, after)]
    return problems, outcomes


def _in_process(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
    return run_in_process(argv, cwd, env)


def _subprocess_runner(timeout: float) -> Runner:
    def run(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
        return run_subprocess(argv, cwd, env, timeout=timeout)

    return run


def runners(case: Case) -> tuple[Runner, Runner]:
    """The commands of an input that could hang or exhaust memory run in a subprocess; so do
    the readers when such an input is inside the review."""
    if not case.subprocess:
        return _in_process, _in_process
    slow = _subprocess_runner(case.timeout)
    return slow, slow if case.damaged else _in_process


def test_corpus_is_large_enough():
    assert len(CASES) >= 100
    assert not any(
        "\x00" in arg for case in CASES if case.subprocess for c in case.commands for arg in c.argv
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input(case: Case, base_review: Base, tmp_path: Path):
    ctx = make_ctx(tmp_path, base_review)
    problems, _ = run_case(case, ctx, *runners(case))
    assert not problems, "\n".join(problems)


# The in-process runs stand for the real command: a few cases run both ways must agree.
PARITY = [
    "name-import-up2-evil",
    "review-toml-not-toml",
    "labels-partial-last-line",
    "import-truncated-ris",
    "stage-conflicts-empty",
]


def _normalised(outcomes: list[Outcome], ctx: Ctx) -> list[tuple[int, str]]:
    def clean(text: str) -> str:
        return re.sub(r"\s+", " ", text.replace(str(ctx.tmp), "<tmp>")).strip()

    return [(o.code, clean(o.error_line()) if o.code else "") for o in outcomes]


@pytest.mark.parametrize("case_id", PARITY)
def test_subprocess_matches_in_process(case_id: str, base_review: Base, tmp_path: Path):
    (case,) = [c for c in CASES if c.id == case_id]
    case = dataclasses.replace(case, commands=case.commands[:2])  # two commands say enough
    seen = []
    for name, runner in (("in-process", _in_process), ("subprocess", _subprocess_runner(60))):
        ctx = make_ctx(tmp_path / name, base_review)
        _, outcomes = run_case(case, ctx, runner, None)
        seen.append(_normalised(outcomes, ctx))
    assert seen[0] == seen[1]


def test_harness_catches_a_write_outside(base_review: Base, tmp_path: Path):
    """The checks themselves can fail: a command that writes outside is reported."""
    ctx = make_ctx(tmp_path, base_review)

    def writes_outside(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
        (ctx.outer / "sentinel" / "secret.txt").write_text("overwritten\n")
        return Outcome(argv, 0, "", "")

    problems, _ = run_case(Case("probe", [cmd("status")]), ctx, writes_outside, _in_process)
    assert any("changed outside the review: outer/sentinel/secret.txt" in p for p in problems)


def test_harness_catches_a_traceback_and_a_multiline_error():
    crashed = Outcome(["status"], 1, "", "", crash="ValueError: boom at x.py:1 in f")
    usage = Outcome(["status"], 2, "", "Usage: screener status\nTry 'screener status -h'\n\nError: no\n")
    good = Outcome(["status"], 2, "", "error: review.toml: is not valid TOML\n")
    assert output_problems(crashed) and output_problems(usage)
    assert output_problems(good) == [] and output_problems(good, mentions="labels") != []
    assert output_problems(Outcome(["agreement", "--json"], 0, '[{"kappa": 0.5', ""))
    assert output_problems(Outcome(["prisma", "--format", "json"], 0, '{"a": 1}', "")) == []
    assert json_problem('[{"kappa": NaN}]', strict=True) and not json_problem('[{"kappa": NaN}]')


def test_in_process_runner_restores_the_environment(tmp_path: Path):
    before = dict(os.environ)
    run_in_process(["--version"], tmp_path, {"SCREENER_EUTILS_TIMEOUT": "abc"})
    assert dict(os.environ) == before


def test_highlighting_never_hangs_on_a_pattern_or_a_text(tmp_path: Path):
    """A pattern review.toml would refuse ((a+)+$) or a cubic one it lets through (.*a.*b) on a
    long abstract: the screen's highlighter gives up on the text after its time limit, keeping
    what it found. Run in a subprocess: before the limit this spun for hours."""
    import subprocess
    import sys

    script = (
        "import time\n"
        "from rich.text import Text\n"
        "from screener.screening.screen import highlighter\n"
        "start = time.monotonic()\n"
        "highlight = highlighter(['(a+)+$', 'liver'], ['.*a.*b'], seconds=0.2)\n"
        "for text in ('liver ' + 'a' * 40 + '!', 'a' * 5000):\n"
        "    shown = Text(text)\n"
        "    highlight(shown)\n"
        "assert time.monotonic() - start < 5, time.monotonic() - start\n"
        "shown = Text('liver metastases')\n"
        "highlighter(['liver'], [])(shown)\n"
        "assert [(s.start, s.end) for s in shown.spans] == [(0, 5)], shown.spans\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
