"""Deduplication at scale: generated sets of real records with realistic variants and duplicates.

Each size runs in a fresh process so its peak memory (ru_maxrss) is its own. The records are
built from real exports (../shared/data, else tests/samples): every unique "study" takes a real
record and rewrites enough of its title, authors and details to be a different study; a quarter
of the studies then get one to three copies with the variants databases produce (case and
punctuation, author formats, journal abbreviations, abbreviated page ranges, missing DOI or
abstract, a typo, a bracketed translated title with a language note). Targets: 100,000
records in at most 60 s; 1,000,000 in at most 15 minutes within 8 GiB.

    python benchmarks/dedup_scale.py [--sizes 100000,1000000] [--json]

With the default --sizes it records its figures in benchmarks/results/dedup_scale.json.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from results_file import write_results

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SIZES = "100000,1000000"
LIMITS = {100_000: 60, 1_000_000: 900}  # the targets, in seconds


def base_records() -> list:
    from screener.importers import read_records

    paths = [
        SHARED / "dedup/hair_2023_asysd_diabetes/labelled_test_set.csv",
        SHARED / "dedup/wagner_2021_bib_dedupe_sets/digital_work/records_pre_merged.csv",
        SHARED / "fixtures/revtools_exports/restoration_scopus.ris",
        SHARED / "fixtures/revtools_exports/restoration_WoS.ciw",
        SHARED / "fixtures/asysd_exports/zotero_export.xml",
    ]
    records = []
    for path in paths:
        if path.exists():
            records.extend(read_records(path).records)
    if not records:
        for name in ("medline.nbib", "embase.ris", "wos.ciw", "pubmed.xml", "endnote.xml"):
            records.extend(read_records(REPO / "tests" / "samples" / name).records)
    return [r for r in records if len(r.title) > 20]


def abbreviate_pages(pages: str) -> str:
    if "-" not in pages:
        return pages
    first, last = pages.split("-", 1)
    if len(first) == len(last) and first[:-2] == last[:-2] and len(last) > 2:
        return f"{first}-{last[-2:]}"
    return pages


def author_variant(name: str, rng: random.Random) -> str:
    surname, _, given = name.partition(",")
    initials = "".join(w[0] for w in given.replace(".", " ").split() if w)
    if not initials:
        return name
    return rng.choice(
        [
            f"{surname.strip()} {initials}",
            f"{surname.strip()}, {'. '.join(initials)}.",
            f"{' '.join(i + '.' for i in initials)} {surname.strip()}",
        ]
    )


def variant(record, rng: random.Random):
    from screener.records import Record

    copy = Record.from_dict(record.to_dict())
    copy.id = ""
    changes = rng.sample(range(9), k=rng.randint(1, 4))
    if 0 in changes:
        copy.title = copy.title.upper() if rng.random() < 0.3 else copy.title.rstrip(".") + "."
    if 1 in changes:
        copy.title = copy.title.replace(":", " -").replace(",", "")
    if 2 in changes:
        copy.authors = [author_variant(a, rng) for a in copy.authors]
    if 3 in changes and copy.journal:
        words = copy.journal.split()
        copy.journal = " ".join(
            w[:4] + "." if len(w) > 5 else w for w in words if w.lower() not in ("of", "the")
        )
    if 4 in changes:
        copy.pages = abbreviate_pages(copy.pages)
    if 5 in changes:
        copy.doi = ""
    if 6 in changes:
        copy.abstract = ""
    if 7 in changes and len(copy.title) > 30:
        k = rng.randrange(5, len(copy.title) - 5)
        copy.title = copy.title[:k] + copy.title[k + 1] + copy.title[k] + copy.title[k + 2 :]
    if 8 in changes:
        copy.title = f"[{copy.title.rstrip('.')}]. [Article in German]"
    return copy


def generate(size: int, seed: int = 0) -> tuple[list, list[int]]:
    """`size` records and the study each one reports."""
    from screener.records import Record, finalise

    rng = random.Random(seed)
    bases = base_records()
    vocabulary = sorted({w for r in bases for w in r.title.split() if w.isalpha() and len(w) > 3})
    surnames = sorted({a.split(",")[0] for r in bases for a in r.authors if "," in a})
    journals = sorted({r.journal for r in bases if r.journal})
    records, study_of = [], []
    study = 0
    while len(records) < size:
        base = bases[study % len(bases)]
        words = base.title.split()
        for k in rng.sample(range(len(words)), k=max(2, len(words) * 2 // 5)):
            words[k] = rng.choice(vocabulary)
        first = rng.randrange(1, 3000)
        unique = Record(
            title=" ".join(words),
            abstract=base.abstract,
            authors=[
                f"{rng.choice(surnames)}, {rng.choice('ABCDEFGHJKLMNPRSTW')}."
                for _ in range(rng.randint(1, 6))
            ],
            year=rng.randint(1980, 2025),
            journal=rng.choice(journals),
            volume=str(rng.randint(1, 120)),
            issue=str(rng.randint(1, 12)),
            pages=f"{first}-{first + rng.randint(3, 15)}",
            doi=f"10.5555/scale.{study}" if rng.random() < 0.7 else "",
            search=f"db{study % 3}",
        )
        records.append(finalise(unique))
        study_of.append(study)
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 3)):
                copy = variant(unique, rng)
                copy.search = f"db{rng.randrange(3)}"
                records.append(finalise(copy))
                study_of.append(study)
        study += 1
    return records[:size], study_of[:size]


def measure(size: int) -> dict:
    from screener.dedup import deduplicate, evaluate_clusters

    records, study_of = generate(size)
    for k, record in enumerate(records):
        record.id = f"r{k}"
    start = time.perf_counter()
    result = deduplicate(records)
    seconds = time.perf_counter() - start
    kept = result.representatives()
    c = evaluate_clusters({k: s for k, s in enumerate(study_of)}, kept)
    return {
        "records": size,
        "seconds": round(seconds, 1),
        "peak_memory_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "pairs_compared": result.compared,
        "candidate_pairs": result.candidates,
        "stages": {k: round(v, 1) for k, v in result.seconds.items()},
        "sensitivity": round(c.sensitivity, 4),
        "false_merges": c.fp,
        "uncertain": len(result.uncertain()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=SIZES)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"size {size} failed:\n{out.stderr[-2000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]) | {"target_seconds": LIMITS.get(size)})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        show(rows)
    write_results("dedup_scale", rows, partial=f"--sizes {args.sizes}" if args.sizes != SIZES else None)


def show(rows: list[dict]) -> None:
    print("Deduplication at scale (generated: real records, realistic variants and duplicates)")
    header = (
        f"{'records':>9} {'seconds':>8} {'target s':>8} {'peak GiB':>8} {'candidates':>11} {'scored':>9} "
        f"{'sens':>7} {'FP':>5} {'uncertain':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        target = r["target_seconds"] or ""
        print(
            f"{r['records']:>9} {r['seconds']:>8} {target:>8} {r['peak_memory_gib']:>8} "
            f"{r['candidate_pairs']:>11} {r['pairs_compared']:>9} {r['sensitivity']:>7} "
            f"{r['false_merges']:>5} {r['uncertain']:>9}"
        )
    for r in rows:
        print(f"  {r['records']}: stages {r['stages']}")


if __name__ == "__main__":
    main()
