"""docs/benchmarks.md is what tools/benchmarks_doc.py makes from benchmarks/benchmarks.md.in and
the committed benchmarks/results/, so its figures cannot drift from what the scripts measured;
figures no script has recorded yet stay as copied by hand, marked so; and a benchmark records
only a run of its full default set."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import REPO

RESULTS = REPO / "benchmarks" / "results"
TEMPLATE = REPO / "benchmarks" / "benchmarks.md.in"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def doc() -> ModuleType:
    return load(REPO / "tools" / "benchmarks_doc.py")


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmarks folder importable, as it is when a script runs."""
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))


def results_file(figures: Any, command: str = "python benchmarks/x.py") -> dict[str, Any]:
    return {
        "script": "benchmarks/x.py",
        "command": command,
        "date": "2026-12-01",
        "commit": "abcdef1234567890",
        "uncommitted_changes": False,
        "cores": 2,
        "load_average": [1.0, 1.5, 2.0],
        "figures": figures,
        "a key a later version adds": {"anything": [1, 2]},
    }


def ranking_row(dataset: str, tool: str, wss: float, **more: float) -> dict[str, Any]:
    row = {"dataset": dataset, "tool": tool, "records": 1000, "relevant": 20, "wss@95": wss}
    return row | {"worst wss@95": wss - 0.05, "rrf@10": 0.3, "atd": 0.1} | more


def test_the_page_is_what_the_committed_results_make(doc: ModuleType) -> None:
    page = (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    made = doc.render(TEMPLATE.read_text(encoding="utf-8"), RESULTS)
    assert page == made, (
        "docs/benchmarks.md differs from what benchmarks/benchmarks.md.in and benchmarks/results/ make: "
        "edit the template (not the page), then run `python tools/benchmarks_doc.py`"
    )


def test_without_results_each_block_keeps_its_hand_text_marked_or_says_none(
    doc: ModuleType, tmp_path: Path
) -> None:
    template = TEMPLATE.read_text(encoding="utf-8")
    page = doc.render(template, tmp_path)
    assert "*Measured by" not in page
    for results, _, run in doc.blocks(template):
        if run:
            assert f"*Recorded by hand from the run of {run}, not yet regenerated: " in page
        where = f"writes `benchmarks/results/{results}.json`"
        assert where in page, results
    # The hand-copied figures themselves are still there, e.g. the ranking's and dedup's.
    assert "| final inclusions | 18 | +2.4 |" in page
    assert "| every gold standard, pooled | 12,296 | 99.3% | 98.6% |" in page
    assert "*No figures recorded yet: `python benchmarks/dedup_scale.py` writes" in page


def test_a_results_file_replaces_the_hand_text_with_its_figures(doc: ModuleType, tmp_path: Path) -> None:
    rows = [
        ranking_row("alpha", "screener", 0.50),
        ranking_row("beta", "screener", 0.40),
        ranking_row("alpha", "asreview elas_u4", 0.45),
        ranking_row("beta", "asreview elas_u4", 0.43),
        ranking_row("alpha", "random", 0.0),
        ranking_row("beta", "random", 0.01),
    ]
    figures = {"rows": rows, "stopping": [], "step_at_20000": {}}
    command = "python benchmarks/ranking_bench.py --asreview-python .venv-bench/bin/python"
    (tmp_path / "ranking_bench-final.json").write_text(json.dumps(results_file(figures, command)))
    page = doc.render(TEMPLATE.read_text(encoding="utf-8"), tmp_path)
    assert "| final inclusions | 18 | +2.4 |" not in page  # the hand figures are gone
    assert "Recorded by hand from the run of 2026-11-30 (commit 369d75d)" not in page
    # +5.0 on alpha, -3.0 on beta: a mean of +1.0, the worst beta, one dataset more than 2 below.
    assert "| screener (1+1 priors) | 2 | +1.0 | −3.0 (beta) | 1 (beta) | +5.0 (alpha) | 35.0% |" in page
    assert f"*Measured by `{command}` on 2026-12-01 (commit abcdef1), 2 cores, load average" in page
    # The title/abstract block has no file here: still by hand.
    assert "*Recorded by hand from the run of 2026-11-27 (commit dbe7fe6), not yet regenerated" in page


def test_ranking_shows_the_tools_and_metrics_it_finds(doc: ModuleType) -> None:
    """A new metric (loss) becomes a column and a new tool a row; keys it does not know are ignored."""
    rows = [
        ranking_row("alpha", "screener", 0.50, loss=0.25),
        ranking_row("alpha", "embeddings", 0.47, loss=0.2),
        ranking_row("alpha", "asreview elas_u4", 0.45, loss=0.3),
    ]
    text = doc.ranking({"rows": rows, "stopping": [], "a new key": 1})
    assert "| embeddings | 1 | +2.0 | +2.0 (alpha) | 0 |" in text
    header = next(line for line in text.splitlines() if line.startswith("| tool |"))
    assert header.endswith("| loss |")
    assert "| embeddings | 1 | 47.0% | 42.0% | 30.0% | 10.0% | 0.200 |" in text


def test_stopping_says_whether_its_target_is_met(doc: ModuleType) -> None:
    def rule(met: float, median: float) -> dict[str, float]:
        return {"met": met, "median_saved": median, "mean_saved": median}

    part = {"part": "all runs", "runs": 9, "screener": rule(0.99, 0.3), "buscar": rule(1.0, 0.2)}
    part |= {"oracle": rule(1.0, 0.6), "ratio": 1.5}
    text = doc.stopping({"stopping": [part]})
    assert "| all runs | 9 | 99% | 30.0% (30.0%) | 20.0% (100%) | 1.5x | 60.0% |" in text
    assert "saving): not met." in text
    text = doc.stopping({"stopping": [part | {"ratio": 2.1}]})
    assert "saving): met." in text


def test_every_block_has_a_renderer_and_its_command_is_in_make_bench(doc: ModuleType) -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nbench:", 1)[1].split("\n\n", 1)[0]
    lines = {
        line.strip().lstrip("-").replace("$(BIN)/python", "python").replace("$(BENCH_VENV)", ".venv-bench")
        for line in recipe.splitlines()[1:]
    }
    assert "python tools/benchmarks_doc.py" in lines
    for results, part, _ in doc.blocks(TEMPLATE.read_text(encoding="utf-8")):
        assert (doc.script_of(results), part) in doc.RENDERERS, (results, part)
        assert doc.COMMANDS[results] in lines, f"make bench does not run {doc.COMMANDS[results]}"


def test_every_results_file_is_on_the_page(doc: ModuleType) -> None:
    shown = {results for results, _, _ in doc.blocks(TEMPLATE.read_text(encoding="utf-8"))}
    for path in RESULTS.glob("*.json"):
        assert path.stem in shown, f"{path.name} is on no figures block of {TEMPLATE.name}"
        data = json.loads(path.read_text())
        assert data["command"] and data["commit"] and data["cores"] and data["date"], path.name


def test_a_partial_run_records_nothing_and_a_full_run_records_where_and_when(
    bench: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import results_file as record

    monkeypatch.setattr(record, "RESULTS", tmp_path)
    monkeypatch.setattr(sys, "argv", [str(REPO / "benchmarks" / "x_bench.py"), "--records", "10"])
    assert record.write_results("x_bench", {"seconds": 1.0}, partial="--records 10, not 100") is None
    assert list(tmp_path.iterdir()) == []
    assert "not recorded in" in capsys.readouterr().err

    monkeypatch.setattr(sys, "argv", [str(REPO / "benchmarks" / "x_bench.py")])
    path = record.write_results("x_bench", {"seconds": float("nan"), "n": [1, 2]}, variant="ta")
    assert path == tmp_path / "x_bench-ta.json"
    data = json.loads(path.read_text())
    assert data["command"] == "python benchmarks/x_bench.py"
    assert data["figures"] == {"seconds": None, "n": [1, 2]}  # strict JSON: NaN is null
    if (REPO / ".git").exists():  # a source archive has no history to name
        assert re.fullmatch(r"[0-9a-f]{40}", data["commit"])
    assert data["cores"] >= 1 and re.fullmatch(r"\d{4}-\d\d-\d\d", data["date"])


def test_ranking_bench_records_only_its_full_default_set(bench: None) -> None:
    import argparse

    import ranking_bench as rb

    def args(**given: Any) -> argparse.Namespace:
        defaults = {"datasets": "", "seeds": rb.SEEDS, "level": "final", "no_timing": False}
        return argparse.Namespace(**(defaults | given))

    rows = [{"dataset": "a"}]
    assert rb.partial_run(args(), rb.DEFAULT_TOOLS + ["elas replica"], rows) is None
    assert rb.partial_run(args(level="ta", no_timing=True), rb.DEFAULT_TOOLS, rows) is None
    assert "--datasets wilson" in rb.partial_run(args(datasets="wilson"), rb.DEFAULT_TOOLS, rows)
    assert "--seeds 0" in rb.partial_run(args(seeds="0"), rb.DEFAULT_TOOLS, rows)
    assert "without asreview elas_u4" in rb.partial_run(args(), rb.DEFAULT_TOOLS[:-1], rows)
    assert "--no-timing" in rb.partial_run(args(no_timing=True), rb.DEFAULT_TOOLS, rows)
    assert "no dataset" in rb.partial_run(args(), rb.DEFAULT_TOOLS, [])


def test_ranking_bench_stopping_figures_per_part(bench: None) -> None:
    import ranking_bench as rb

    stops = []
    for dataset, saved in (("x", 0.4), ("y", 0.2)):
        for rule, share in (("screener", saved), ("buscar", saved / 2), ("oracle", 0.8)):
            stops.append({"dataset": dataset, "rule": rule, "recall": 0.96, "work_saved": share})
    (everything,) = rb.stopping_figures(stops)[:1]
    assert everything["part"] == "all runs" and everything["runs"] == 2
    assert everything["screener"]["met"] == 1.0
    assert everything["screener"]["median_saved"] == pytest.approx(0.3)
    assert everything["ratio"] == pytest.approx(2.0)


def test_stopping_per_dataset_puts_the_worst_first(bench: None, doc: ModuleType) -> None:
    import ranking_bench as rb

    stops = []
    for dataset, recalls in (("fine", (1.0, 0.97)), ("missed", (0.94, 0.96)), ("edge", (0.95, 1.0))):
        for recall in recalls:
            stops.append({"dataset": dataset, "rule": "screener", "recall": recall, "work_saved": 0.3})
            stops.append({"dataset": dataset, "rule": "buscar", "recall": 1.0, "work_saved": 0.1})
            stops.append({"dataset": dataset, "rule": "oracle", "recall": 0.95, "work_saved": 0.6})
    rows = rb.stopping_by_dataset(stops)
    assert [r["dataset"] for r in rows] == ["missed", "edge", "fine"]
    assert rows[0]["misses"] == 1 and rows[0]["lowest_recall"] == 0.94 and rows[1]["misses"] == 0
    part = rb.stopping_figures(stops)[0]
    text = doc.stopping({"stopping": [part], "stopping_by_dataset": rows})
    assert text.index("| missed | 2 | 94.0% | 1 |") < text.index("| edge |") < text.index("| fine |")


# Figures shaped as each script writes them (the keys copied from its code), for the renderers
# whose scripts take hours: each must read them, and show the figure named beside it.
SCRIPT_FIGURES = {
    "step": (
        {
            "step_at_20000": {
                "screener_ms": 30.5,
                "slower_model_ms": 41.0,
                "asreview_ms": 90.0,
                "ratios": [2.2, 3.4],
            }
        }
        | {"rows": [], "stopping": []},
        "| 30.5 ms (its slower model 41.0 ms) | 90.0 ms | 3.0x | 2.2x to 3.4x | ≤ 50 ms and ≥ 2x: met |",
    ),
    "choice": (
        {
            "settings_tried": 200,
            "settings_passing": 40,
            "chosen": "floor 0.2, recent 0.25, prior 0.5",
            "default_rule": "floor 0.2, recent 0.25, prior 0.5",
            "table": [
                {"datasets": "Cohen (chosen on)", "level": "final", "rule": "chosen", "runs": 90}
                | {"met": 0.99, "median_saved": 0.3, "buscar_median_saved": 0.15, "ratio": 2.0}
            ],
            "replay_agrees": 320,
            "runs": 320,
        },
        "| Cohen (chosen on), final | chosen | 90 | 99.0% | 30.0% | 15.0% | 2.00x |",
    ),
    "comparison": (
        [
            {"dataset": "lib", "tool": "screener", "TP": 98, "FP": 0, "FN": 2, "TN": 900, "sensitivity": 0.98}
            | {"seconds": 1.0, "uncertain_pairs": 3},
            {"dataset": "lib", "tool": "bib-dedupe 0.11", "TP": 96, "FP": 1, "FN": 4, "TN": 899}
            | {"sensitivity": 0.96, "seconds": 50.0},
            {"dataset": "POOLED", "tool": "screener", "TP": 98, "FP": 0, "FN": 2, "TN": 900}
            | {"sensitivity": 0.98, "seconds": 1.0},
            {"dataset": "POOLED", "tool": "bib-dedupe 0.11", "TP": 96, "FP": 1, "FN": 4, "TN": 899}
            | {"sensitivity": 0.96, "seconds": 50.0},
        ],
        "| lib | 1,000 | 98.0% | 96.0% | +2.0 | 0 / 1 | 1.00 / 50.00 | 0.020x |",
    ),
    "scale": (
        [
            {"records": 100000, "seconds": 41.3, "peak_memory_gib": 1.25, "pairs_compared": 250000}
            | {"candidate_pairs": 900000, "stages": {"prepare": 10.0}, "sensitivity": 0.991}
            | {"false_merges": 0, "uncertain": 12, "target_seconds": 60}
        ],
        "| 100,000 | 41.3 | 60 | 1.25 | 900,000 | 250,000 | 99.1% | 0 |",
    ),
    "latency": (
        {"records": 20000, "order": "ranked", "keystrokes": 200, "decisions_saved": 200, "median_ms": 12.5}
        | {"p95_ms": 30.0, "max_ms": 80.0, "first_start_s": 3.2, "later_start_s": 0.6}
        | {"first_start_cpu_s": 2.0, "later_start_cpu_s": 0.5, "prepare_s": 40.0, "ok": True}
        | {"targets": {"first_start_s": 5.0, "later_start_s": 1.0, "median_ms": 50.0}},
        "| keystroke to next record | 12.5 ms | 80.0 ms (95th percentile 30.0 ms) | < 50.0: met |",
    ),
    "attach": (
        {"pdfs": 1000, "seconds": 34.5, "peak_rss_mib": 87, "right": 1000, "wrong": 0, "unmatched": 0}
        | {"counts": {}, "within_target": True, "target_seconds": 60, "target_peak_mib": 1024},
        "| 1,000 | 34.5 (target 60) | 87 MiB (target 1024 MiB) | 1,000 | 0 | 0 |",
    ),
}


@pytest.mark.parametrize("part", sorted(SCRIPT_FIGURES))
def test_each_renderer_reads_what_its_script_writes(doc: ModuleType, part: str) -> None:
    figures, expected = SCRIPT_FIGURES[part]
    renderer = next(f for (_, p), f in doc.RENDERERS.items() if p == part)
    assert expected in renderer(figures)
