"""`screener fulltext get` of 1,000 DOIs against the services' rate limits, on a local server.

A review of 1,000 generated records (each with a DOI), all at the full-text stage, and
tests/fulltext_server.py in a process of its own answering as Europe PMC, Unpaywall and
OpenAlex, enforcing each one's rate with 429s as the real services do: Europe PMC 10 a second
(it publishes no number; a polite pace), Unpaywall 10 a second (documented: 100,000 a day;
bursts of 10 a second are polite), OpenAlex 100 a second (documented), and the PDF host 10 a
second (screener's polite per-host pace). A third of the records are in Europe PMC's
open-access subset, a third only in Unpaywall, a third only in OpenAlex; every PDF is that
record's article. The floor is the slowest host at its rate (requests / rate), since hosts
are asked at the same time; target: within 1.1x of it, no 429, every PDF prepared.

    python benchmarks/fulltext_get_bench.py [--records 1000]

With the default --records it records its figures in benchmarks/results/fulltext_get_bench.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import sys
import tempfile
import time
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from tests.fulltext_server import FulltextServer, Paper, Site  # noqa: E402

from fulltext_attach_bench import SURNAMES, WORDS, _pdf  # noqa: E402
from results_file import write_results  # noqa: E402
from screener.fulltext import get as ft  # noqa: E402
from screener.net import EUROPEPMC, OPENALEX, PDF_PER_SECOND, UNPAYWALL  # noqa: E402
from screener.review import Review, Reviewer, init_review  # noqa: E402
from screener.screening.decisions import DecisionLog, decision_path  # noqa: E402

RECORDS = 1000
RATES = {
    "europepmc/": EUROPEPMC.per_second,
    "unpaywall/": UNPAYWALL.per_second,
    "openalex/": OPENALEX.per_second,
    "files/": PDF_PER_SECOND,  # the same host as europepmc-pdf/: one limit for both
    "europepmc-pdf/": PDF_PER_SECOND,
}


def rows(count: int) -> list[dict[str, str]]:
    out = []
    for k in range(count):
        words = [WORDS[(k * 7 + j * 13) % len(WORDS)] for j in range(9)]
        title = f"{' '.join(words).capitalize()} study {k}"
        author = SURNAMES[k % len(SURNAMES)]
        out.append(
            {"title": title, "authors": f"{author}, A", "year": str(2000 + k % 20), "doi": f"10.9999/ft.{k}"}
        )
    return out


def serve(count: int, ready: Any) -> None:
    """The server, in a process of its own: as real services, it does not share our GIL."""
    papers, files = [], {}
    for k, row in enumerate(rows(count)):
        data = _pdf([row["title"], row["authors"], f"J Bench {row['year']}"])
        kind = k % 3
        if kind == 0:
            papers.append(
                Paper(row["title"], row["doi"], f"{50_000 + k}", f"PMC{90_000 + k}", europepmc_oa=True)
            )
            files[f"PMC{90_000 + k}"] = ("application/pdf", data)
        elif kind == 1:
            papers.append(Paper(row["title"], row["doi"], unpaywall_pdf=f"{k}.pdf"))
            files[f"{k}.pdf"] = ("application/pdf", data)
        else:
            papers.append(Paper(row["title"], row["doi"], openalex_pdf=f"{k}.pdf"))
            files[f"{k}.pdf"] = ("application/pdf", data)
    site = Site(papers, files, rates=dict(RATES))
    # One limit for the one PDF host: both prefixes share a window.
    site.recent["europepmc-pdf/"] = site.recent.setdefault("files/", deque())
    with FulltextServer(site) as server:
        ready.put(server.environment())
        while True:
            time.sleep(3600)


def make_review(folder: Path, count: int) -> Review:
    review = Review(init_review(folder / "review", reviewers=[Reviewer("alice"), Reviewer("bob")]))
    table = folder / "records.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["title", "authors", "year", "doi"])
        writer.writeheader()
        writer.writerows(rows(count))
    review.import_file(table, "search")
    for reviewer in ("alice", "bob"):
        log = DecisionLog(decision_path(review.labels_dir, "title-abstract", reviewer))
        for record in review.records():
            log.append(record.id, "include")
    return review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    args = parser.parse_args()
    ready: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(args.records, ready), daemon=True)
    process.start()
    try:
        environment = ready.get(timeout=300)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(environment)
            os.environ["UNPAYWALL_EMAIL"] = "bench@example.org"
            os.environ["SCREENER_CACHE_DIR"] = str(Path(tmp) / "cache")
            review = make_review(Path(tmp), args.records)
            records = ft.wanted(review)
            sources = ft.configured_sources(review)
            start = time.perf_counter()
            result = ft.get(review, records, sources, "bench")
            wall = time.perf_counter() - start
        stats_url = environment["SCREENER_OPENALEX_URL"].replace("openalex/", "__stats")
        with urllib.request.urlopen(stats_url) as answer:
            stats = json.load(answer)
    finally:
        process.terminate()
        process.join()
    requests = result.requests
    per_host = {
        "Europe PMC": requests.get("europepmc", 0) / EUROPEPMC.per_second,
        "Unpaywall": requests.get("unpaywall", 0) / UNPAYWALL.per_second,
        "OpenAlex": requests.get("openalex", 0) / OPENALEX.per_second,
        "PDF host": requests.get("pdf", 0) / PDF_PER_SECOND,
    }
    floor = max(per_host.values())
    summary = {
        "records": args.records,
        "counts": result.counts(),
        "requests": requests,
        "rate_limited_429": stats["rate_limited"],
        "seconds": round(wall, 2),
        "floor_seconds_per_host": {k: round(v, 2) for k, v in per_host.items()},
        "floor_seconds": round(floor, 2),
        "ratio": round(wall / floor, 3),
        "target_ratio": 1.1,
    }
    print(json.dumps(summary, indent=2))
    partial = f"--records {args.records}, not {RECORDS:,}" if args.records != RECORDS else None
    write_results("fulltext_get_bench", summary, partial=partial)
    if summary["ratio"] > 1.1 or stats["rate_limited"] or result.counts()["prepared"] != args.records:
        sys.exit("fulltext_get_bench: slower than 1.1x the floor, rate limited, or not every PDF prepared")


if __name__ == "__main__":
    main()
