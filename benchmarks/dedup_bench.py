"""Deduplication accuracy and speed: screener against bib-dedupe 0.11, same data, same run.

For every gold standard under ../shared/data/dedup/ that has records and group ids
(gold_record_groups.csv beside labelled_test_set.csv or records_pre_merged.csv), both tools
cluster the records; each cluster keeps one record; TP/FP/FN/TN follow bib-dedupe's convention
(screener.dedup.evaluate). Times are of the deduplication itself (no file reading), median of
--rounds. bib-dedupe runs in the benchmark environment (.venv-bench, `make bench` creates it).
Targets: pooled sensitivity at least 1 point above bib-dedupe's, false merges (FP) no more than
its, wall time at most a tenth of its.

EndNote libraries that flag every member of a duplicate set (`<caption>Duplicate</caption>`) but
have no group ids (sra_deduplicator_endnote_sets) are scored per record, for both tools alike: a
flagged record put in a cluster with another is found (TP), left alone missed (FN); an unflagged
record put in a cluster with another is a false merge (FP). They are reported apart from the
pooled figure, whose convention they cannot follow.

    python benchmarks/dedup_bench.py [--rounds 3] [--bib-dedupe-python .venv-bench/bin/python] [--json]
        [--only NAME] [--no-bib-dedupe]

Over every library (no --only) it records its figures in benchmarks/results/dedup_bench.json,
or, with --no-bib-dedupe, screener's alone in dedup_bench-screener-alone.json (a run that meant
to compare but found no bib-dedupe records nothing: it would pass for the comparison).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from results_file import write_results
from screener.dedup import Confusion, deduplicate, evaluate_clusters
from screener.importers import read_records

REPO = Path(__file__).resolve().parents[1]
DEDUP = REPO.parent / "shared" / "data" / "dedup"
RECORD_FILES = ("labelled_test_set.csv", "records_pre_merged.csv")
BIB_DEDUPE_COLUMNS = (
    "ID",
    "ENTRYTYPE",
    "author",
    "title",
    "journal",
    "booktitle",
    "year",
    "volume",
    "number",
    "pages",
    "abstract",
    "doi",
    "isbn",
)


# bib-dedupe's clusters in full (its runner prints only the kept ids), for the flagged libraries.
BIB_DEDUPE_CLUSTERS = """
import json, sys, time
import pandas as pd
from bib_dedupe.bib_dedupe import block, cluster, match, prep
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
start = time.perf_counter()
clusters = cluster(match(block(prep(frame, verbosity_level=0, cpu=-1), verbosity_level=0, cpu=-1),
                         verbosity_level=0, cpu=-1), verbosity_level=0)
print(json.dumps({"clusters": [sorted(c) for c in clusters], "seconds": time.perf_counter() - start}))
"""


def flagged_sets() -> list[tuple[str, Path]]:
    """EndNote XML libraries whose duplicates are flagged but not grouped."""
    return [
        (str(path.relative_to(DEDUP)), path)
        for path in sorted(DEDUP.glob("sra_deduplicator_endnote_sets/*.xml"))
    ]


def gold_sets() -> list[tuple[str, Path, Path]]:
    found = []
    for gold in sorted(DEDUP.rglob("gold_record_groups.csv")):
        records = next((gold.parent / name for name in RECORD_FILES if (gold.parent / name).exists()), None)
        if records is not None:
            found.append((str(gold.parent.relative_to(DEDUP)), records, gold))
    return found


def load(records_path: Path, gold_path: Path) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """The raw table (for bib-dedupe), the id of each row, and id -> gold group."""
    gold = pd.read_csv(gold_path, dtype=str)
    id_column = gold.columns[0]
    raw_bytes = records_path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        text = raw_bytes.decode("cp1252")
    from io import StringIO

    frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    ids = frame[id_column].tolist()
    groups = dict(zip(gold[id_column], gold["group_id"], strict=True))
    groups = {i: groups.get(i, f"single:{i}") for i in ids}
    return frame, ids, groups


def run_screener(
    records_path: Path, ids: list[str], groups: dict[str, str], rounds: int
) -> tuple[list[str], float, int, int, list[str]]:
    """Kept ids, median seconds, pairs compared, uncertain pairs, and kept ids once a reviewer
    has answered the uncertain pairs (answers taken from the gold standard)."""
    parsed = read_records(records_path, fmt="csv", search="gold")
    records = parsed.records
    for record, rid in zip(records, ids, strict=True):
        record.id = f"row:{rid}"  # the gold ids, not content ids: every row is its own record
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = deduplicate(records)
        times.append(time.perf_counter() - start)
    kept = [ids[i] for i in result.representatives()]
    uncertain = result.uncertain()
    same = [(p.id_1, p.id_2) for p in uncertain if groups[p.id_1[4:]] == groups[p.id_2[4:]]]
    different = [(p.id_1, p.id_2) for p in uncertain if groups[p.id_1[4:]] != groups[p.id_2[4:]]]
    reviewed = deduplicate(records, same=same, different=different)
    kept_reviewed = [ids[i] for i in reviewed.representatives()]
    return kept, statistics.median(times), result.compared, len(uncertain), kept_reviewed


def run_bib_dedupe(frame: pd.DataFrame, ids: list[str], python: str, rounds: int) -> tuple[list[str], float]:
    table = pd.DataFrame({"ID": [f"id_{k:07d}" for k in range(len(ids))]})
    for column in BIB_DEDUPE_COLUMNS[1:]:
        table[column] = frame[column] if column in frame.columns else ""
    table["ENTRYTYPE"] = frame["ENTRYTYPE"] if "ENTRYTYPE" in frame.columns else "article"
    back = dict(zip(table["ID"], ids, strict=True))
    times, kept = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.csv"
        table.to_csv(path, index=False)
        for _ in range(rounds):
            out = subprocess.run(
                [python, str(REPO / "benchmarks" / "bibdedupe_runner.py"), str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            answer = json.loads(out.stdout.strip().splitlines()[-1])
            times.append(answer["seconds"])
            kept = [back[i] for i in answer["kept"]]
    return kept, statistics.median(times)


def load_flagged(path: Path) -> tuple[list, list[bool]]:
    """Screener's records of an EndNote XML library and, per record, its Duplicate flag."""
    import xml.etree.ElementTree as ET

    records = read_records(path, fmt="endnote-xml", search="gold").records
    root = ET.parse(path).getroot()
    flags = []
    for record in root.findall("./records/record"):
        caption = record.find("caption")
        flags.append(caption is not None and "".join(caption.itertext()).strip() == "Duplicate")
    if len(flags) != len(records):
        sys.exit(f"{path}: {len(records)} records read but {len(flags)} <record> elements")
    for k, record in enumerate(records):
        record.id = f"row:{k}"
    return records, flags


def flagged_confusion(cluster_of: list[int], flags: list[bool]) -> Confusion:
    """Per record: flagged and clustered TP, flagged alone FN, unflagged clustered FP, else TN."""
    sizes: dict[int, int] = {}
    for c in cluster_of:
        sizes[c] = sizes.get(c, 0) + 1
    result = Confusion()
    for c, flagged in zip(cluster_of, flags, strict=True):
        together = sizes[c] > 1
        if flagged:
            result.tp += together
            result.fn += not together
        else:
            result.fp += together
            result.tn += not together
    return result


def run_screener_flagged(records: list, rounds: int) -> tuple[list[int], float]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = deduplicate(records)
        times.append(time.perf_counter() - start)
    return [int(c) for c in result.cluster_of], statistics.median(times)


def run_bib_dedupe_flagged(records: list, python: str) -> tuple[list[int], float]:
    table = pd.DataFrame(
        {
            "ID": [f"id_{k:07d}" for k in range(len(records))],
            "ENTRYTYPE": "article",
            "author": [" and ".join(r.authors) for r in records],
            "title": [r.title for r in records],
            "journal": [r.journal or r.journal_abbrev for r in records],
            "booktitle": "",
            "year": [str(r.year or "") for r in records],
            "volume": [r.volume for r in records],
            "number": [r.issue for r in records],
            "pages": [r.pages for r in records],
            "abstract": [r.abstract for r in records],
            "doi": [r.doi for r in records],
            "isbn": "",
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.csv"
        table.to_csv(path, index=False)
        out = subprocess.run(
            [python, "-c", BIB_DEDUPE_CLUSTERS, str(path)], capture_output=True, text=True, check=True
        )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    cluster_of = list(range(len(records)))
    for number, members in enumerate(answer["clusters"]):
        for member in members:
            cluster_of[int(member[3:])] = len(records) + number
    return cluster_of, answer["seconds"]


def row(tool: str, dataset: str, c: Confusion, seconds: float) -> dict:
    return {
        "dataset": dataset,
        "tool": tool,
        "TP": c.tp,
        "FP": c.fp,
        "FN": c.fn,
        "TN": c.tn,
        "sensitivity": round(c.sensitivity, 4),
        "specificity": round(c.specificity, 4),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bib-dedupe-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", action="append", help="libraries whose name contains this (repeatable)")
    parser.add_argument("--no-bib-dedupe", action="store_true", help="screener alone (quicker)")
    args = parser.parse_args()
    if not DEDUP.is_dir():
        sys.exit(f"no gold standards at {DEDUP}")
    have_bib_dedupe = Path(args.bib_dedupe_python).exists() and not args.no_bib_dedupe

    def wanted(name: str) -> bool:
        return not args.only or any(part in name for part in args.only)

    rows = []
    pooled = {"screener": Confusion(), "screener + review": Confusion(), "bib-dedupe": Confusion()}
    seconds = {"screener": 0.0, "bib-dedupe": 0.0}
    for name, records_path, gold_path in gold_sets():
        if not wanted(name):
            continue
        frame, ids, groups = load(records_path, gold_path)
        kept, took, compared, uncertain, kept_reviewed = run_screener(records_path, ids, groups, args.rounds)
        c = evaluate_clusters(groups, kept)
        pooled["screener"] += c
        seconds["screener"] += took
        rows.append(
            row("screener", name, c, took) | {"pairs_compared": compared, "uncertain_pairs": uncertain}
        )
        reviewed = evaluate_clusters(groups, kept_reviewed)
        pooled["screener + review"] += reviewed
        rows.append(row("screener + review", name, reviewed, float("nan")) | {"uncertain_pairs": uncertain})
        if have_bib_dedupe:
            kept_b, took_b = run_bib_dedupe(frame, ids, args.bib_dedupe_python, max(1, min(args.rounds, 2)))
            cb = evaluate_clusters(groups, kept_b)
            pooled["bib-dedupe"] += cb
            seconds["bib-dedupe"] += took_b
            rows.append(row("bib-dedupe 0.11", name, cb, took_b))
    rows.append(row("screener", "POOLED", pooled["screener"], seconds["screener"]))
    rows.append(row("screener + review", "POOLED", pooled["screener + review"], float("nan")))
    if have_bib_dedupe:
        rows.append(row("bib-dedupe 0.11", "POOLED", pooled["bib-dedupe"], seconds["bib-dedupe"]))
    for name, path in flagged_sets():
        if not wanted(name):
            continue
        records, flags = load_flagged(path)
        clusters, took = run_screener_flagged(records, args.rounds)
        rows.append(row("screener", f"{name} (per record)", flagged_confusion(clusters, flags), took))
        if have_bib_dedupe:
            clusters_b, took_b = run_bib_dedupe_flagged(records, args.bib_dedupe_python)
            rows.append(
                row("bib-dedupe 0.11", f"{name} (per record)", flagged_confusion(clusters_b, flags), took_b)
            )
    if args.only:
        partial = "--only " + " ".join(args.only)
    elif not have_bib_dedupe and not args.no_bib_dedupe:
        partial = f"bib-dedupe not run (no {args.bib_dedupe_python})"
    else:
        partial = None
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        show(rows, pooled, seconds, args, have_bib_dedupe)
    write_results("dedup_bench", rows, partial=partial, variant="" if have_bib_dedupe else "screener-alone")


def show(
    rows: list[dict],
    pooled: dict[str, Confusion],
    seconds: dict[str, float],
    args: argparse.Namespace,
    have_bib_dedupe: bool,
) -> None:
    print(
        "Deduplication against gold standards, bib-dedupe's TP/FP/FN/TN convention, "
        f"median of {args.rounds} rounds"
    )
    header = (
        f"{'dataset':58} {'tool':18} {'TP':>6} {'FP':>4} {'FN':>5} {'TN':>6} {'sens':>7} {'spec':>7} "
        f"{'seconds':>8} {'uncertain':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['dataset']:58} {r['tool']:18} {r['TP']:>6} {r['FP']:>4} {r['FN']:>5} {r['TN']:>6} "
            f"{r['sensitivity']:>7.4f} {r['specificity']:>7.4f} {r['seconds']:>8.2f} "
            f"{r.get('uncertain_pairs', ''):>9}"
        )
    print(
        "'screener + review': after a reviewer answers the uncertain pairs (answers from the gold standard)"
    )
    if have_bib_dedupe:
        ours, theirs = pooled["screener"], pooled["bib-dedupe"]
        gain = (ours.sensitivity - theirs.sensitivity) * 100
        ratio = seconds["screener"] / seconds["bib-dedupe"]
        print(
            f"\nsensitivity {gain:+.2f} points vs bib-dedupe (target >= +1.00): "
            f"{'OK' if gain >= 1 else 'MISSED'}"
        )
        print(
            f"false merges {ours.fp} vs {theirs.fp} (target <=): {'OK' if ours.fp <= theirs.fp else 'MISSED'}"
        )
        print(f"time ratio {ratio:.3f} (target <= 0.1): {'OK' if ratio <= 0.1 else 'MISSED'}")
        by_library: dict[str, dict[str, float]] = {}
        for r in rows:
            if r["dataset"] != "POOLED" and r["tool"] in ("screener", "bib-dedupe 0.11"):
                by_library.setdefault(r["dataset"], {})[r["tool"]] = r["sensitivity"]
        gaps = {
            name: (tools["screener"] - tools["bib-dedupe 0.11"]) * 100
            for name, tools in by_library.items()
            if len(tools) == 2
        }
        if gaps:
            worst = min(gaps, key=gaps.__getitem__)
            print(
                f"worst library {worst}: {gaps[worst]:+.2f} points vs bib-dedupe (target >= -1.00): "
                f"{'OK' if gaps[worst] >= -1 else 'MISSED'}"
            )
    elif not args.no_bib_dedupe:
        print(f"\nbib-dedupe not run: no {args.bib_dedupe_python} (make bench creates .venv-bench)")


if __name__ == "__main__":
    main()
