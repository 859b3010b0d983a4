"""Recall curves of simulations against random screening."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..outputs import save_figure


def recall_plot(runs, path: Path, title: str = "") -> None:  # noqa: ANN001 - list[Simulation]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import recall_curve

    figure, axes = plt.subplots(figsize=(7, 5), dpi=120)
    for k, run in enumerate(runs):
        order = run.screened_labels()
        x = np.arange(1, len(order) + 1) / len(order)
        (line,) = axes.plot(x * 100, recall_curve(order) * 100, lw=1.2, label=f"seed {run.seed}")
        # Where the stopping rule said stop, on the run's own curve.
        stop = run.stopping()
        axes.plot(
            [stop.stopped_at / len(order) * 100],
            [stop.recall * 100],
            marker="v",
            markersize=8,
            color=line.get_color(),
            linestyle="none",
            label="stopping rule says stop" if k == 0 else None,
        )
    axes.plot([0, 100], [0, 100], "k--", lw=1, label="random order")
    axes.axhline(95, color="grey", lw=0.6, ls=":")
    axes.set_xlabel("records screened (%)")
    axes.set_ylabel("relevant records found (%)")
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 101)
    axes.set_title(title)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    try:
        save_figure(figure, path)  # where the user asked, atomically; a bad path is one line
    finally:
        plt.close(figure)
