"""Render docs/benchmarks.md from benchmarks/benchmarks.md.in and benchmarks/results/*.json.

The template is the page's prose with blocks where figures go:

    <!-- figures RESULTS: PART[; by hand from the run of DATE (commit C)] -->
    the figures as they were copied by hand, if any
    <!-- end figures -->

RESULTS names a results file (benchmarks/results/RESULTS.json, written by a benchmark when it
ran its full default set) and PART what of it the block shows. Where the file exists the block
becomes the tables made from it, with the command, date, commit and machine that measured them;
where it does not, the block keeps its text, marked as copied by hand from the run it names and
not yet regenerated (or, with no text, as not yet recorded). The renderers read only the keys
they show, so a results file may gain keys (a new metric, a new tool) without breaking the page:
new tools get rows and new metrics columns where the table lists what it finds.

    python tools/benchmarks_doc.py            # write docs/benchmarks.md
    python tools/benchmarks_doc.py --check    # exit 1, with a diff, when it is not what this makes
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "benchmarks" / "benchmarks.md.in"
RESULTS = REPO / "benchmarks" / "results"
PAGE = REPO / "docs" / "benchmarks.md"

BLOCK = re.compile(
    r"^<!-- figures (?P<results>[\w.-]+): (?P<part>\w+)(?:; by hand from the run of (?P<run>[^>]*?))? -->\n"
    r"(?P<body>.*?)"
    r"^<!-- end figures -->\n",
    re.MULTILINE | re.DOTALL,
)
HEADER = (
    "<!-- Made by tools/benchmarks_doc.py from benchmarks/benchmarks.md.in and benchmarks/results/:\n"
    "     edit those, then run `python tools/benchmarks_doc.py` (make test checks the two agree). -->\n\n"
)

# The command that writes each results file: what `make bench` runs (a test checks it does).
COMMANDS = {
    "import_bench": "python benchmarks/import_bench.py",
    "entrez_bench": "python benchmarks/entrez_bench.py",
    "chase_bench": "python benchmarks/chase_bench.py",
    "dedup_bench": "python benchmarks/dedup_bench.py --bib-dedupe-python .venv-bench/bin/python",
    "dedup_bench-screener-alone": "python benchmarks/dedup_bench.py --no-bib-dedupe",
    "dedup_scale": "python benchmarks/dedup_scale.py",
    "screen_latency": "python benchmarks/screen_latency.py",
    "ranking_bench-final": "python benchmarks/ranking_bench.py --asreview-python .venv-bench/bin/python",
    "ranking_bench-ta": (
        "python benchmarks/ranking_bench.py --level ta --asreview-python .venv-bench/bin/python --no-timing"
    ),
    "stopping_choice": "python benchmarks/stopping_choice.py",
    "ranking_variants-meaning": (
        "python benchmarks/ranking_variants.py --seeds 0,1,2 --record meaning "
        "--variants tiab+q,tiab-meaning-turns+q,tiab-meaning-partner+q"
    ),
    "ranker_startup": "python benchmarks/ranker_startup.py",
    "report_bench": "python benchmarks/report_bench.py",
    "fulltext_attach_bench": "python benchmarks/fulltext_attach_bench.py",
    "fulltext_get_bench": "python benchmarks/fulltext_get_bench.py",
}

PEER = "asreview elas_u4"
# How a ranking configuration reads in a table; a tool not named here shows its own name.
TOOL_LABELS = {
    "screener": "screener (1+1 priors)",
    "screener + question": "with the review's question",
    "question alone": "the question alone (no priors) against elas_u4 with 1+1",
    "elas replica": "elas_u4 rebuilt from screener's parts (harness check)",
    "tiab": "title and abstract only",
    "tiab + question": "title and abstract only, with the question",
    "random": "random order",
    PEER: "ASReview elas_u4 (the peer)",
}
# Metrics that are shares of the records, shown as percentages; any other is shown as a number.
SHARES = ("wss@95", "worst wss@95", "rrf@10", "atd")
NOT_METRICS = ("dataset", "tool", "records", "relevant", "seconds_per_step")


# -- numbers as the page writes them ---------------------------------------------------------------


def minus(text: str) -> str:
    """A typographic minus, as the hand-written figures used."""
    return text.replace("-", "−") if text.startswith("-") else text


def pct(share: float | None, digits: int = 1) -> str:
    return "—" if share is None else f"{share * 100:.{digits}f}%"


def points(difference: float) -> str:
    """A difference of percentages, in points, signed."""
    return minus(f"{difference:+.1f}")


def num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def times(ratio: float | None, digits: int = 2) -> str:
    return "—" if ratio is None else f"{ratio:.{digits}f}x"


def header(text: str) -> list[str]:
    """A table's column names, written as the Markdown row reads: "a | b | c"."""
    return text.split(" | ")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def met(ok: bool) -> str:
    return "met" if ok else "not met"


# -- one renderer per block: (figures) -> Markdown -------------------------------------------------


def ranking(figures: dict) -> str:
    """Each configuration against elas_u4, dataset by dataset, then every metric's mean."""
    rows = figures["rows"]
    by_tool: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_tool.setdefault(row["tool"], {})[row["dataset"]] = row
    peer = by_tool.get(PEER, {})
    out = []
    compared = []
    for tool, datasets in by_tool.items():
        if tool in (PEER, "random") or not peer:
            continue
        gaps = {d: (r["wss@95"] - peer[d]["wss@95"]) * 100 for d, r in datasets.items() if d in peer}
        if not gaps:
            continue
        worst = min(gaps, key=gaps.__getitem__)
        below = sorted((d for d, g in gaps.items() if g < -2), key=gaps.__getitem__)
        worst_seed = min(r["worst wss@95"] for r in datasets.values() if "worst wss@95" in r)
        compared.append(
            [
                TOOL_LABELS.get(tool, tool),
                str(len(gaps)),
                points(statistics.mean(gaps.values())),
                f"{points(gaps[worst])} ({worst})",
                f"{len(below)}" + (f" ({', '.join(below)})" if below else ""),
                f"{points(max(gaps.values()))} ({max(gaps, key=gaps.__getitem__)})",
                pct(worst_seed),
            ]
        )
    if compared:
        out.append(
            table(
                header(
                    "screener | datasets | WSS@95 − elas_u4, mean (points) | worst dataset | "
                    "datasets more than 2 points below | best dataset | worst seed's WSS@95, any dataset"
                ),
                compared,
            )
        )
    else:
        out.append("No elas_u4 runs in this record: nothing to compare with.\n")
    # Every metric the rows hold, mean over the datasets: new metrics become new columns.
    metrics = [m for m in SHARES if any(m in r for r in rows)]
    metrics += sorted(
        {k for r in rows for k, v in r.items() if isinstance(v, (int, float))}
        - set(SHARES)
        - set(NOT_METRICS)
    )
    means = []
    for tool, datasets in by_tool.items():
        cells = [TOOL_LABELS.get(tool, tool), str(len(datasets))]
        for m in metrics:
            values = [r[m] for r in datasets.values() if isinstance(r.get(m), (int, float))]
            value = statistics.mean(values) if values else None
            cells.append(pct(value) if m in SHARES else num(value, 3))
        means.append(cells)
    names = {"wss@95": "WSS@95", "worst wss@95": "worst seed's WSS@95", "rrf@10": "RRF@10", "atd": "ATD"}
    out.append(
        "\nMean over the datasets (WSS@95 and the worst seed's beside it; RRF@10: relevant records "
        "in the first 10%; ATD: average time to discovery, lower is better):\n\n"
        + table(["tool", "datasets"] + [names.get(m, m) for m in metrics], means)
    )
    return "\n".join(out)


def step(figures: dict) -> str:
    timing = figures.get("step_at_20000") or {}
    if "screener_ms" not in timing:
        return "The step was not timed in this run.\n"
    ours = timing["screener_ms"]
    theirs = timing.get("asreview_ms")
    ratios = timing.get("ratios") or []
    row = [
        f"{ours:.1f} ms (its slower model {timing.get('slower_model_ms', float('nan')):.1f} ms)",
        f"{theirs:.1f} ms" if theirs else f"not run ({timing.get('asreview_error', 'no .venv-bench')})",
        times(theirs / ours, 1) if theirs else "—",
        f"{min(ratios):.1f}x to {max(ratios):.1f}x" if ratios else "—",
        f"≤ 50 ms and ≥ 2x: {met(ours <= 50 and bool(ratios) and min(ratios) >= 2)}",
    ]
    return table(
        ["screener, median", "ASReview elas_u4, median", "ratio", "per round, worst to best", "target"],
        [row],
    )


def stopping(figures: dict) -> str:
    parts = figures.get("stopping") or []
    if not parts:
        return "No screener runs to stop in this record.\n"
    rows = []
    for part in parts:
        ours, buscar, oracle = part["screener"], part["buscar"], part["oracle"]
        rows.append(
            [
                part["part"],
                str(part["runs"]),
                pct(ours["met"], 0),
                f"{pct(ours['median_saved'])} ({pct(ours['mean_saved'])})",
                f"{pct(buscar['median_saved'])} ({pct(buscar['met'], 0)})",
                times(part.get("ratio"), 1),
                pct(oracle["median_saved"]),
            ]
        )
    first = parts[0]
    target = first["screener"]["met"] >= 0.95 and (first.get("ratio") or 0) >= 2
    out = (
        table(
            header(
                "runs | n | reached 95% recall | work saved, median (mean) | "
                "buscar: saved, median (reached 95%) | screener / buscar | oracle: saved, median"
            ),
            rows,
        )
        + f"\nTarget (95% of runs reach 95% recall, twice buscar's median saving): {met(target)}.\n"
    )
    by_dataset = figures.get("stopping_by_dataset") or []
    if by_dataset:  # records made before it have none
        out += "\nPer dataset, worst first (the lowest recall where the rule stopped):\n\n" + table(
            header("dataset | runs | lowest recall | runs below 95% | work saved, mean | buscar, mean"),
            [
                [
                    r["dataset"],
                    str(r["runs"]),
                    pct(r["lowest_recall"]),
                    str(r["misses"]),
                    pct(r["mean_saved"]),
                    pct(r.get("buscar_mean_saved")),
                ]
                for r in by_dataset
            ],
        )
    return out


def choice(figures: dict) -> str:
    rows = [
        [
            f"{r['datasets']}, {r['level']}",
            r["rule"],
            str(r["runs"]),
            pct(r["met"]),
            pct(r["median_saved"]),
            pct(r["buscar_median_saved"]),
            times(r.get("ratio")),
        ]
        for r in figures.get("table", [])
    ]
    return (
        f"{figures['settings_tried']} settings tried, {figures['settings_passing']} passing; chosen: "
        f"{figures['chosen']}; the rule the screen runs (DEFAULT_RULE): {figures['default_rule']}. "
        f"The screen's code stops {figures['replay_agrees']} of {figures['runs']} runs where the replay "
        "does.\n\n"
        + table(["runs", "setting", "n", "reached 95%", "saved, median", "buscar, median", "ratio"], rows)
    )


def _records(row: dict) -> int:
    return sum(row.get(k, 0) for k in ("TP", "FP", "FN", "TN"))


def comparison(figures: list[dict]) -> str:
    """screener against bib-dedupe, library by library, pooled last."""
    ours = {r["dataset"]: r for r in figures if r["tool"] == "screener"}
    theirs = {r["dataset"]: r for r in figures if r["tool"].startswith("bib-dedupe")}
    rows, gaps = [], {}
    for name, mine in ours.items():
        other = theirs.get(name)
        if other is None:
            continue
        gap = (mine["sensitivity"] - other["sensitivity"]) * 100
        if name != "POOLED" and "(per record)" not in name:
            gaps[name] = gap
        ratio = mine["seconds"] / other["seconds"] if other.get("seconds") else None
        rows.append(
            [
                "**every gold standard, pooled**" if name == "POOLED" else name,
                num(_records(mine)),
                pct(mine["sensitivity"]),
                pct(other["sensitivity"]),
                points(gap),
                f"{mine['FP']} / {other['FP']}",
                f"{num(mine['seconds'])} / {num(other['seconds'])}",
                times(ratio, 3),
            ]
        )
    worst = min(gaps, key=gaps.__getitem__) if gaps else None
    pooled = ours.get("POOLED"), theirs.get("POOLED")
    lines = table(
        header(
            "library | records | screener: duplicates found | bib-dedupe | "
            "difference (points) | false merges (screener / bib-dedupe) | seconds | time ratio"
        ),
        rows,
    )
    if worst is not None and all(pooled):
        gain = (pooled[0]["sensitivity"] - pooled[1]["sensitivity"]) * 100
        ratio = pooled[0]["seconds"] / pooled[1]["seconds"] if pooled[1]["seconds"] else None
        lines += (
            f"\nTargets: pooled sensitivity at least 1 point above bib-dedupe's ({points(gain)}: "
            f"{met(gain >= 1)}), no more false merges ({pooled[0]['FP']} against {pooled[1]['FP']}: "
            f"{met(pooled[0]['FP'] <= pooled[1]['FP'])}), at most a tenth of its time "
            f"({times(ratio, 3)}: {met(ratio is not None and ratio <= 0.1)}); worst library {worst} "
            f"{points(gaps[worst])} (at least −1: {met(gaps[worst] >= -1)}).\n"
        )
    return lines


def libraries(figures: list[dict]) -> str:
    """screener alone, library by library: found, false merges, time, and after review."""
    reviewed = {r["dataset"]: r for r in figures if r["tool"] == "screener + review"}
    rows = []
    for r in figures:
        if r["tool"] != "screener":
            continue
        after = reviewed.get(r["dataset"])
        rows.append(
            [
                "**every gold standard, pooled**" if r["dataset"] == "POOLED" else r["dataset"],
                num(_records(r)),
                pct(r["sensitivity"]),
                str(r["FP"]),
                num(r["seconds"]),
                str(r.get("uncertain_pairs", "—")),
                pct(after["sensitivity"]) if after else "—",
            ]
        )
    return table(
        header(
            "library | records | duplicates found | "
            "false merges | seconds | uncertain pairs | found once a person answers them"
        ),
        rows,
    )


def scale(figures: list[dict]) -> str:
    rows = [
        [
            num(r["records"]),
            num(r["seconds"], 1),
            str(r.get("target_seconds") or "—"),
            num(r["peak_memory_gib"]),
            num(r["candidate_pairs"]),
            num(r["pairs_compared"]),
            pct(r["sensitivity"]),
            str(r["false_merges"]),
        ]
        for r in figures
    ]
    return table(
        header(
            "records | seconds | target | peak GiB | "
            "candidate pairs | pairs scored | duplicates found | false merges"
        ),
        rows,
    )


def import_(figures: list[dict]) -> str:
    rows = [
        [
            r["format"],
            num(r["records"]),
            num(r["file_mb"], 1),
            f"{r['raw_parser']}: {num(r['raw_seconds'])} s",
            f"{num(r['screener_seconds'])} s ({num(r['screener_records_per_s'])} records/s)",
            times(r["ratio"]),
            times(r.get("worst_round_ratio")),
            f"≤ {r['target_ratio']}x: {met(r['ratio'] <= r['target_ratio'])}",
        ]
        for r in figures
    ]
    return table(
        header(
            "format | records | MB | raw parser, median | "
            "screener import, median | ratio | worst round | target"
        ),
        rows,
    )


def search(figures: dict) -> str:
    f = figures
    row = [
        num(f["records"]),
        f"{num(f['requests'])} (fewest possible {num(f['minimum_requests'])})",
        num(f["wall_seconds"], 1),
        num(f["rate_limit_floor_seconds"], 1),
        times(f["ratio"]),
        times(f.get("worst_ratio")),
        f"≤ {f['target_ratio']}x: {met(f['ratio'] <= f['target_ratio'])}",
    ]
    return table(
        ["records", "requests", "seconds, median", "rate-limit floor, s", "ratio", "worst round", "target"],
        [row],
    )


def chase(figures: dict) -> str:
    runs = figures["runs"]
    row = [
        f"{figures['seeds']} × {figures['references_each']}",
        f"{runs[0]['requests']} (fewest possible {runs[0]['fewest_possible']})",
        str(sum(r["rate_limited_429"] for r in runs)),
        num(statistics.median(r["seconds"] for r in runs)),
        num(runs[0]["floor_seconds"]),
        times(figures["median_ratio"]),
        times(figures.get("worst_ratio")),
        f"≤ {figures['target_ratio']}x, no 429: "
        + met(
            figures["median_ratio"] <= figures["target_ratio"]
            and not any(r["rate_limited_429"] for r in runs)
        ),
    ]
    return table(
        header(
            "seeds × references | requests | 429s | seconds, median | "
            "rate-limit floor, s | ratio, median | worst round | target"
        ),
        [row],
    )


def latency(figures: dict) -> str:
    f, targets = figures, figures.get("targets", {})

    def target(key: str, value: float) -> str:
        return f"< {targets[key]}: {met(value < targets[key])}" if key in targets else ""

    rows = [
        [
            "first start",
            f"{num(f['first_start_s'])} s (CPU {num(f['first_start_cpu_s'])} s)",
            "—",
            target("first_start_s", f["first_start_s"]),
        ],
        [
            "later start",
            f"{num(f['later_start_s'])} s (CPU {num(f['later_start_cpu_s'])} s)",
            "—",
            target("later_start_s", f["later_start_s"]),
        ],
    ]
    if "merging_start_s" in f:  # recorded since the studies are left by dedup
        rows.append(
            [
                "start merging the studies itself",
                f"{num(f['merging_start_s'])} s (CPU {num(f['merging_start_cpu_s'])} s)",
                "—",
                "",
            ]
        )
    rows += [
        [
            "keystroke to next record",
            f"{num(f['median_ms'], 1)} ms",
            f"{num(f['max_ms'], 1)} ms (95th percentile {num(f['p95_ms'], 1)} ms)",
            target("median_ms", f["median_ms"]),
        ],
    ]
    return (
        table(["on " + num(f["records"]) + " records", "median", "worst", "target"], rows)
        + f"\n{f['keystrokes']} keystrokes, {f['decisions_saved']} decisions saved.\n"
    )


def startup(figures: dict) -> str:
    row = [
        num(figures["records"]),
        f"{num(figures['first_seconds'], 1)} s",
        f"{num(figures['later_median_seconds'])} s",
        f"{num(figures['later_worst_seconds'])} s",
        times(figures["speed_up"], 0),
    ]
    return table(
        ["records", "first start", "later start, median", "later start, worst", "first / later"], [row]
    )


def attach(figures: dict) -> str:
    row = [
        num(figures["pdfs"]),
        f"{num(figures['seconds'], 1)} (target {figures.get('target_seconds', 60)})",
        f"{figures['peak_rss_mib']} MiB (target {figures.get('target_peak_mib', 1024)} MiB)",
        num(figures["right"]),
        num(figures["wrong"]),
        num(figures["unmatched"]),
    ]
    return table(
        ["PDFs", "seconds", "peak memory", "right", "wrong", "not attached though its record is there"], [row]
    )


def get(figures: dict) -> str:
    counts = figures.get("counts", {})
    hosts = figures.get("floor_seconds_per_host", {})
    slowest = max(hosts, key=hosts.__getitem__) if hosts else "—"
    prepared = counts.get("prepared", 0)
    ok = figures["ratio"] <= figures["target_ratio"] and not figures["rate_limited_429"]
    row = [
        num(figures["records"]),
        num(prepared),
        ", ".join(f"{k} {v}" for k, v in figures.get("requests", {}).items()),
        num(figures["seconds"], 1),
        f"{num(figures['floor_seconds'], 1)} ({slowest})",
        times(figures["ratio"]),
        str(figures["rate_limited_429"]),
        f"≤ {figures['target_ratio']}x, no 429, all prepared: {met(ok and prepared == figures['records'])}",
    ]
    return table(
        header(
            "records | PDFs prepared | requests | seconds | floor, s (slowest host) | ratio | 429s | target"
        ),
        [row],
    )


def report(figures: dict) -> str:
    rows = []
    for name, r in figures.items():
        build, cpu, worst = (list(r["build_s"]) + [None])[:3]
        wall, command_cpu = r["command_s"]
        rows.append(
            [
                name,
                num(r["records"]),
                num(r["cold_s"], 1),
                f"{num(build)} s (CPU {num(cpu)} s)",
                f"{num(worst)} s" if worst is not None else "—",
                f"{num(wall)} s (CPU {num(command_cpu)} s)",
                f"< {r['target_s']} s of CPU: {met(cpu < r['target_s'])}",
                num(r["page_mb"], 1),
            ]
        )
    return table(
        header(
            "review | records | first build, s | build, median | "
            "build, worst | `screener report -o`, median | target | page MB"
        ),
        rows,
    )


def variants(figures: dict) -> str:
    """Each variant against the first (the baseline), WSS@95 dataset by dataset, then the
    differences: mean, median, worst and best, on the datasets chosen on and the others."""
    names, rows = figures["variants"], figures["rows"]
    base = names[0]
    seeds = ", ".join(str(s) for s in figures.get("seeds", []))
    by_dataset = [
        [row["dataset"] + ("" if row.get("chosen_on") else " (checked on)")]
        + [pct(row.get(v)) for v in names]
        for row in rows
    ]
    out = [
        f"WSS@95, mean over seeds {seeds}, {figures.get('level', 'final')} labels:\n",
        table(["dataset"] + [f"`{v}`" for v in names], by_dataset),
    ]
    summary = []
    for v in names[1:]:
        gaps = {
            r["dataset"]: (r[v] - r[base]) * 100
            for r in rows
            if r.get(v) is not None and r.get(base) is not None
        }
        if not gaps:
            continue
        chosen = [g for d, g in gaps.items() if any(r["dataset"] == d and r.get("chosen_on") for r in rows)]
        checked = [
            g for d, g in gaps.items() if not any(r["dataset"] == d and r.get("chosen_on") for r in rows)
        ]
        worst, best = min(gaps, key=gaps.__getitem__), max(gaps, key=gaps.__getitem__)
        summary.append(
            [
                f"`{v}`",
                points(statistics.mean(gaps.values())),
                points(statistics.median(gaps.values())),
                f"{points(gaps[worst])} ({worst})",
                f"{points(gaps[best])} ({best})",
                points(statistics.mean(chosen)) if chosen else "—",
                points(statistics.mean(checked)) if checked else "—",
            ]
        )
    out.append(
        f"\nAgainst `{base}` (points of WSS@95):\n\n"
        + table(
            header(
                "variant | mean | median | worst dataset | best dataset | mean, datasets chosen on | "
                "mean, datasets checked on"
            ),
            summary,
        )
    )
    return "\n".join(out)


# (results file's script, part) -> renderer; a variant (ranking_bench-ta) uses its script's.
RENDERERS: dict[tuple[str, str], Callable[[Any], str]] = {
    ("ranking_bench", "ranking"): ranking,
    ("ranking_bench", "step"): step,
    ("ranking_bench", "stopping"): stopping,
    ("stopping_choice", "choice"): choice,
    ("ranking_variants", "variants"): variants,
    ("dedup_bench", "comparison"): comparison,
    ("dedup_bench", "libraries"): libraries,
    ("dedup_scale", "scale"): scale,
    ("import_bench", "import"): import_,
    ("entrez_bench", "search"): search,
    ("chase_bench", "chase"): chase,
    ("screen_latency", "latency"): latency,
    ("ranker_startup", "startup"): startup,
    ("fulltext_attach_bench", "attach"): attach,
    ("fulltext_get_bench", "get"): get,
    ("report_bench", "report"): report,
}


def script_of(results: str) -> str:
    """The script of a results file: ranking_bench-ta.json is ranking_bench's (script names have no '-')."""
    return results.split("-", 1)[0]


def measured(data: dict) -> str:
    """Which command measured the figures, when, at which commit, on what machine."""
    commit = (data.get("commit") or "unknown")[:7]
    if data.get("uncommitted_changes"):
        commit += " with uncommitted changes"
    load = data.get("load_average") or []
    machine = f"{data.get('cores', '?')} cores"
    if load:
        machine += ", load average " + " / ".join(f"{x:.1f}" for x in load) + " (1, 5, 15 minutes) at its end"
    command, date = data.get("command", "?"), data.get("date", "?")
    return f"*Measured by `{command}` on {date} (commit {commit}), {machine}.*\n"


def render_block(results: str, part: str, run: str | None, body: str, results_dir: Path) -> str:
    path = results_dir / f"{results}.json"
    command = COMMANDS.get(results, f"python benchmarks/{script_of(results)}.py")
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        renderer = RENDERERS[(script_of(results), part)]
        return renderer(data["figures"]) + "\n" + measured(data)
    where = f"`{command}` writes `benchmarks/results/{results}.json`"
    if run:
        return f"*Recorded by hand from the run of {run}, not yet regenerated: {where}.*\n\n" + body
    return f"*No figures recorded yet: {where}.*\n"


def render(template: str, results_dir: Path = RESULTS) -> str:
    def block(match: re.Match[str]) -> str:
        return render_block(match["results"], match["part"], match["run"], match["body"], results_dir)

    return HEADER + BLOCK.sub(block, template)


def blocks(template: str) -> list[tuple[str, str, str | None]]:
    """(results, part, hand-recorded run) of every figures block."""
    return [(m["results"], m["part"], m["run"]) for m in BLOCK.finditer(template)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the page is up to date")
    args = parser.parse_args()
    template = TEMPLATE.read_text(encoding="utf-8")
    unknown = [(r, p) for r, p, _ in blocks(template) if (script_of(r), p) not in RENDERERS]
    if unknown:
        sys.exit(f"{TEMPLATE}: figures blocks with no renderer: {unknown}")
    page = render(template)
    if not args.check:
        PAGE.write_text(page, encoding="utf-8")
        print(f"wrote {PAGE.relative_to(REPO)}")
        return
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    if current != page:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            page.splitlines(keepends=True),
            "docs/benchmarks.md",
            "rendered",
        )
        sys.stdout.writelines(diff)
        sys.exit("docs/benchmarks.md is not what tools/benchmarks_doc.py makes: run it")


if __name__ == "__main__":
    main()
