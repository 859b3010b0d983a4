"""The results file a benchmark writes when it measured its full default set.

docs/benchmarks.md is rendered from these files (tools/benchmarks_doc.py), so a figure on that
page is one a script printed, with the command, the date, the commit and the machine beside it.
A run on part of the set (some datasets, a smaller size, without the peer) would overwrite the
record with partial figures: such a run says why it writes nothing and leaves the file alone.
What counts as part is each script's call: the arguments that choose what is measured (data,
sizes, tools, seeds) must be at their defaults; those that choose how often or how fast it is
measured (rounds, jobs) may differ, and the command in the file shows them.

    benchmarks/results/<script>[-<variant>].json   {"script", "variant", "command", "date", ...,
                                                    "figures": what the script measured}
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def results_path(script: str, variant: str = "") -> Path:
    return RESULTS / (f"{script}-{variant}.json" if variant else f"{script}.json")


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def plain(value: Any) -> Any:
    """`value` as strict JSON holds it: NaN and infinities (a time not measured) become null,
    numpy's scalars Python's."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()  # numpy.float64, numpy.int64, ...
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def command_line(argv: list[str] | None = None) -> str:
    """The command as a reader would type it from the repository's root."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve()
    try:
        shown = str(script.relative_to(REPO))
    except ValueError:
        shown = argv[0]
    return " ".join(["python", shlex.quote(shown), *(shlex.quote(a) for a in argv[1:])])


def write_results(script: str, figures: Any, *, partial: str | None = None, variant: str = "") -> Path | None:
    """Write `figures` to the script's results file, or, when `partial` says why the run was
    on part of the set, write nothing and say so on stderr. Returns the file written."""
    path = results_path(script, variant)
    if partial:
        print(
            f"{script}: not recorded in {_shown(path)}: {partial} (only a run of the full default set is)",
            file=sys.stderr,
        )
        return None
    # Uncommitted changes to what is measured make the commit a guess: say so in the file.
    changed = _git("status", "--porcelain", "--", "src", "benchmarks", ":!benchmarks/results")
    data = {
        "script": f"benchmarks/{script}.py",
        "variant": variant,
        "command": command_line(),
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(changed),
        "cores": os.cpu_count(),
        # A shared machine's neighbours slow wall times: the load over the last 1, 5, 15 minutes.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "figures": plain(figures),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    temporary.replace(path)
    print(f"{script}: recorded in {_shown(path)}", file=sys.stderr)
    return path
