"""Run one ASReview 3 simulation (AI elas_u4) with given priors; print JSON {order, step_seconds}.

Runs in the benchmark environment (.venv-bench has asreview 3.x), called by ranking_bench.py
with a CSV of title, abstract, label and the two prior rows.
"""

import json
import sys
import time

import pandas as pd
from asreview.learner import ActiveLearningCycle
from asreview.models.models import get_ai_config
from asreview.simulation.simulate import Simulate


def main() -> None:
    path, first, second = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    frame = pd.read_csv(path, dtype={"title": str, "abstract": str}, keep_default_na=False)
    labels = frame["label"].astype(int).to_numpy()
    cycle = ActiveLearningCycle.from_meta(get_ai_config("elas_u4")["value"])
    simulation = Simulate(frame[["title", "abstract"]], labels, cycle, print_progress=False)
    simulation.label([first, second])
    start = time.perf_counter()
    simulation.review()
    seconds = time.perf_counter() - start
    order = [int(x) for x in simulation._results["record_id"].tolist()]
    steps = max(len(order) - 2, 1)
    # Every relevant record is found by now; the rest follow (their order changes no metric).
    seen = set(order)
    order += [k for k in range(len(labels)) if k not in seen]
    print(json.dumps({"order": order, "seconds_per_step": seconds / steps}))


if __name__ == "__main__":
    main()
