"""Run bib-dedupe on one gold dataset; print JSON {kept, seconds, clusters}.

Runs in the benchmark environment (.venv-bench, which has bib-dedupe 0.11), called by
dedup_bench.py; its input is the CSV dedup_bench.py wrote, in bib-dedupe's column names.
"""

import json
import sys
import time

import pandas as pd
from bib_dedupe.bib_dedupe import block, cluster, match, prep


def main() -> None:
    frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
    start = time.perf_counter()
    prepared = prep(frame, verbosity_level=0, cpu=-1)
    pairs = block(prepared, verbosity_level=0, cpu=-1)
    matches = match(pairs, verbosity_level=0, cpu=-1)
    clusters = cluster(matches, verbosity_level=0)
    seconds = time.perf_counter() - start
    removed = set()
    for members in clusters:
        members = sorted(members)
        removed.update(members[1:])  # one record kept per cluster
    kept = [i for i in frame["ID"] if i not in removed]
    print(json.dumps({"kept": kept, "seconds": seconds, "clusters": len(clusters)}))


if __name__ == "__main__":
    main()
