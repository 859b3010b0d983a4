"""Ranking: simulate on labelled datasets, rank a review's open records."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box

from ..errors import ScreenerError
from ..ranking.config import CLASSIFIER_NAMES, FEATURE_NAMES, INDEX_TERMS, MEANINGS, QUERY_NAMES, TURNS
from ..review import check_reviewer
from . import cli
from .common import (
    Table,
    build_ranker,
    console,
    err_console,
    find_review,
    json_option,
    print_json,
    progress_bar,
    review_option,
    stage_option,
    write_csv,
)


@cli.command()
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds, one run each.")
@click.option(
    "--level",
    type=click.Choice(["ta", "final"]),
    default="final",
    show_default=True,
    help="Title/abstract labels or final inclusion labels.",
)
@click.option("--n-stop", type=int, default=None, help="Stop after this many records (default: all found).")
@click.option(
    "--orders-out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each run's screening order to DIR/<dataset>_seed<s>.csv.",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False, path_type=Path), help="Draw recall curves (PNG/SVG/PDF)."
)
@click.option(
    "--features",
    type=click.Choice(FEATURE_NAMES),  # ranking.config: names only, no scikit-learn for --help
    default="tfidf-one-bag",
    show_default=True,
)
@click.option(
    "--index-terms",
    type=click.Choice(INDEX_TERMS["tfidf-two-views"]),
    default="words",
    show_default=True,
    help="Keywords and MeSH: read as more words, or left out (separate: a view of whole terms, "
    "tfidf-two-views only).",
)
@click.option("--classifier", type=click.Choice(CLASSIFIER_NAMES), default="svm", show_default=True)
@click.option(
    "--interleave/--alone",
    default=True,
    show_default=True,
    help="Take turns with ASReview's model of title and abstract (the default), or rank alone.",
)
@click.option(
    "--meaning",
    type=click.Choice(MEANINGS),
    default=None,
    help="turns: a third model reading the records' pretrained embeddings (wordllama, offline) "
    "takes turns with the two; off (the default). Needs --interleave.",
)
@click.option(
    "--turns",
    type=click.Choice(TURNS),
    default=None,
    help="Whose turn: round, each model in turn (the default); bandit, the one whose recent picks "
    "were relevant more often (tried, not better on our datasets). Needs --interleave.",
)
@click.option(
    "--query", type=click.Choice(QUERY_NAMES), default="max", show_default=True
)
@click.option(
    "--question", default="", help="The review question: it ranks the records before the first inclusion."
)
@click.option(
    "--question-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the question from this text file (e.g. question, criteria and search terms).",
)
@click.option(
    "--priors",
    "priors_text",
    default="1,1",
    show_default=True,
    metavar="N_REL,N_IRR",
    help="Relevant and irrelevant records known at the start; 0,0 starts from the question alone.",
)
@json_option
def simulate(
    dataset: Path,
    seeds: str,
    level: str,
    n_stop: int | None,
    orders_out: Path | None,
    plot: Path | None,
    features: str,
    index_terms: str,
    classifier: str,
    interleave: bool,
    meaning: str | None,
    turns: str | None,
    query: str,
    question: str,
    question_file: Path | None,
    priors_text: str,
    as_json: bool,
) -> None:
    """Replay a labelled dataset as prioritised screening and report how much work it saves.

    Priors for seed s: r = numpy.random.RandomState(s); one relevant row r.choice(relevant), then
    one irrelevant row r.choice(irrelevant) (--priors 1,1). More of a kind are
    r.choice(rows, n, replace=False), relevant first; --priors 0,0 draws none and starts from
    the question. Then one record at a time, retraining after each, until every relevant
    record is found. Metrics exclude the priors: WSS@95, WSS@100, RRF@10, ATD and loss (ASReview
    Insights' normalised area between the recall curve and the perfect one). The stopping
    rule's stop is marked on the --plot curves.

    \b
    Example:
      screener simulate wilson.csv --seeds 0,1,2 --level final --plot recall.png
      screener simulate wilson.csv --question "Therapies for Wilson disease" --priors 0,0
    """
    import tempfile

    import numpy as np

    from ..outputs import FIGURE_SUFFIXES, check_output_file, prepare_output_folder
    from ..ranking import RankerConfig
    from ..ranking.datasets import load_labelled, texts_of
    from ..ranking.simulate import parse_priors, parse_seeds
    from ..ranking.simulate import simulate as run_simulation

    seed_list = parse_seeds(seeds)
    if question and question_file is not None:
        raise ScreenerError("give --question or --question-file, not both")
    if question_file is not None:
        from ..textio import read_user_text

        question = read_user_text(question_file, "question file")
    n_priors = parse_priors(priors_text, question)
    if plot is not None:
        check_output_file(plot, FIGURE_SUFFIXES)
    if orders_out is not None:
        prepare_output_folder(orders_out)
    records, labels = load_labelled(dataset, level)
    texts = texts_of(records)
    try:
        config = RankerConfig.from_table(
            {"features": features, "classifier": classifier, "query": query, "interleave": interleave}
            | ({"index_terms": index_terms} if index_terms != "words" else {})
            | ({"meaning": meaning} if meaning else {})
            | ({"turns": turns} if turns else {})
        )
    except ValueError as exc:
        raise ScreenerError(str(exc), hint="see screener simulate --help") from None
    runs = []
    # The feature matrix is the same for every seed: built once, then read from here.
    with tempfile.TemporaryDirectory(prefix="screener-simulate-") as features_cache:
        for seed in seed_list:
            with progress_bar(f"Seed {seed}: relevant records found") as (progress, task):
                runs.append(
                    run_simulation(
                        texts,
                        labels,
                        seed,
                        config,
                        n_stop,
                        cache_dir=Path(features_cache),
                        progress=lambda found, total: progress.update(task, completed=found, total=total),
                        question=question,
                        n_priors=n_priors,
                    )
                )
    rows = []
    for run in runs:
        metrics = run.metrics()
        step = float(np.median(run.step_seconds)) if run.step_seconds else float("nan")
        stop = run.stopping() if n_stop is None else None
        cut = {}
        if n_stop is not None:  # what the cut run found, beside metrics that read past the cut
            found = int(labels[run.order[: run.cut_at]].sum()) if run.cut_at else int(labels.sum())
            cut = {"cut_at": run.cut_at, "relevant_found_at_cut": found}
        rows.append(
            {
                "seed": run.seed,
                **{k: round(v, 4) for k, v in metrics.items()},
                "median_step_ms": round(step * 1000, 2),
                "records": len(labels),
                "relevant": int(labels.sum()),
                **cut,
                "stop": None
                if stop is None
                else {
                    "screened": stop.stopped_at,
                    "recall": round(stop.recall, 4),
                    "work_saved": round(stop.work_saved, 4),
                    "target": stop.target,
                },
            }
        )
        if orders_out:
            write_csv(
                orders_out / f"{dataset.stem}_seed{run.seed}.csv",
                ["row", "label", "prior"],
                [{"row": r, "label": int(labels[r]), "prior": int(r in run.prior_rows)} for r in run.order],
            )
    keys = ("wss@95", "wss@100", "rrf@10", "atd", "loss")
    mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in keys}
    cut_runs = [r for r in rows if r.get("cut_at")]
    cut_note = (
        f"--n-stop {n_stop} cut {len(cut_runs)} of {len(rows)} runs before every relevant record was "
        "found: their WSS, RRF, ATD and loss read the records after the cut in the order of the last "
        "ranking, which learnt from none of them; they are not the metrics of a full run"
        if cut_runs
        else ""
    )
    if plot:
        from ..ranking.plots import recall_plot

        recall_plot(runs, plot, title=f"{dataset.stem} ({level})")
    if as_json:
        print_json(
            {
                "dataset": str(dataset),
                "level": level,
                "ranking": config.to_table(),
                "question": question,
                "priors": list(n_priors),
                "n_stop": n_stop,
                "metrics_note": cut_note,
                "runs": rows,
                "mean": mean,
            }
        )
        return
    settings = ", ".join(
        f"{k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in config.to_table().items()
    )
    table = Table(
        title=f"Simulation: {dataset.name} ({level}, {len(labels)} records, {int(labels.sum())} relevant)"
        f"\nranking: {settings}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    # Short headers that never wrap: ten columns fit 80 columns.
    for column in ("seed", "WSS@95", "WSS@100", "RRF@10", "ATD", "loss", "ms", "stop", "recall", "saved"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in rows:
        stop = r["stop"] or {}
        table.add_row(
            str(r["seed"]),
            f"{r['wss@95']:.1%}",
            f"{r['wss@100']:.1%}",
            f"{r['rrf@10']:.1%}",
            f"{r['atd']:.1%}",
            f"{r['loss']:.3f}",
            f"{r['median_step_ms']:.1f}",
            str(stop.get("screened", "")),
            f"{stop['recall']:.1%}" if stop else "",
            f"{stop['work_saved']:.1%}" if stop else "",
        )
    table.add_section()
    table.add_row(
        "mean",
        f"{mean['wss@95']:.1%}",
        f"{mean['wss@100']:.1%}",
        f"{mean['rrf@10']:.1%}",
        f"{mean['atd']:.1%}",
        f"{mean['loss']:.3f}",
        "",
        "",
        "",
        "",
    )
    console.print(table)
    console.print(
        "ms: median retrain per record; stop: records screened where the stopping rule (95% recall) "
        "stopped, recall: the recall there, saved: the work saved",
        highlight=False,
    )
    for r in cut_runs:
        console.print(
            f"seed {r['seed']}: cut at {r['cut_at']} records, {r['relevant_found_at_cut']} of "
            f"{r['relevant']} relevant found",
            highlight=False,
        )
    if cut_note:
        console.print(f"Note: {cut_note}.", highlight=False, markup=False)
    if plot:
        console.print(f"Recall curves in {plot}")


# What rank's order is, against the screen's (the models take turns there, one per decision).
ORDER_SAID = (
    "the screen applies this ranking from your next decision on; its first record may differ "
    "(where your last session left off, or file order), and each decision retrains the model "
    "whose turn comes next"
)


@cli.command()
@click.option("--reviewer", required=True, help="Rank from this reviewer's decisions only.")
@stage_option
@click.option(
    "--top", type=click.IntRange(min=1), default=20, show_default=True, help="How many records to list."
)
@click.option(
    "--question/--no-question",
    "use_question",
    default=True,
    show_default=True,
    help="Rank by the review's question (review.toml question, criteria; the search queries) too.",
)
@review_option
@json_option
def rank(
    reviewer: str, stage: str, top: int, use_question: bool, review_dir: Path | None, as_json: bool
) -> None:
    """List the records still waiting for a reviewer's vote, most likely relevant first: what
    their screen offers (their share when the records are allocated), never a record that is
    final or waits for the resolver.

    The models (TF-IDF, linear SVM, most-likely-relevant first; by default two that take turns,
    one reading keywords and MeSH, one not) learn from this reviewer's own decisions only. When
    review.toml states a question (or criteria), the question and the search queries rank the
    records before the first decision and count as one relevant example, fading as inclusions
    come; without one, the order is the file's until the reviewer includes and excludes a record.

    The list is the ranking a screen session applies from the reviewer's next decision on (the
    first of the models that take turns, trained on the decisions so far). The screen's first
    record is where the last session's ranking left off (or the file's order) while that ranking
    is computed, and each decision retrains the model whose turn comes next: the first record may
    differ, and the
    list further down is a forecast, not the order the screen promises.

    \b
    Example:
      screener rank --reviewer alice --top 10 --json
    """
    import numpy as np

    from ..ranking import RankerConfig, record_text
    from ..ranking.question import review_question
    from ..screening import load_stage

    review = find_review(review_dir)
    check_reviewer(review, reviewer, ("screener",), "rank lists the records waiting for a screener's vote")
    question = review_question(review) if use_question else ""
    view = load_stage(review, stage)
    records = view.records
    mine = view.decisions.get(reviewer, {})
    row_of = {r.id: k for k, r in enumerate(records)}
    labelled = np.array([row_of[i] for i in mine], dtype=np.int64)
    y = np.array([int(d.includes) for d in mine.values()], dtype=int)
    from ..screening.allocate import allocation_notice, screen_records

    voting = view.voting()
    offered = {r.id for r in screen_records(view, reviewer)[0]}
    unlabelled = np.array(
        [k for k, r in enumerate(records) if r.id not in mine and r.id in voting and r.id in offered],
        dtype=np.int64,
    )
    ranking = RankerConfig.from_table(review.config.ranking)
    ranker = (
        build_ranker([record_text(r) for r in records], ranking, review.cache_dir / "features", question)
        if len(records) > 1 and len(unlabelled)
        else None
    )
    if ranker is not None and (len(labelled) or question):
        ranker.fit(labelled, y)
    order = (
        unlabelled
        if ranker is None or not ranker.fitted
        else ranker.query.order(ranker.scores, unlabelled, ranker.rng)
    )
    rows = [
        {
            "rank": n + 1,
            "record_id": records[k].id,
            "score": round(float(ranker.scores[k]), 4) if ranker and ranker.fitted else None,
            "title": records[k].title,
        }
        for n, k in enumerate(order[:top])
    ]
    if as_json:
        print_json(
            {
                "reviewer": reviewer,
                "stage": stage,
                "trained_on": len(labelled),
                "model": bool(ranker and ranker.fitted),
                "ranking": ranking.to_table(),
                "question": question,
                "notice": ranker.notice if ranker else "",
                "records": rows,
                "order": ORDER_SAID,
                # With an allocation: records waiting for votes that no share holds yet (an update's).
                "not_allocated": view.not_allocated(voting) if view.allocation is not None else 0,
            }
        )
        return
    if not rows:
        whose = "of their share " if view.allocation is not None else ""
        notice = allocation_notice(view)
        said = f"{reviewer} has screened every record {whose}at {stage}"
        console.print(f"{said}; {notice}." if notice else f"{said}: nothing left to rank.", highlight=False)
        return
    if ranker and ranker.notice:
        err_console.print(f"notice: {ranker.notice}", highlight=False, markup=False)
    table = Table(
        title=f"Next for {reviewer} ({stage}); model trained on {len(labelled)} decisions"
        + (" and the review question" if question else "")
        if ranker and ranker.fitted
        else f"Next for {reviewer} ({stage}); file order until the model can learn",
        title_justify="left",
    )
    for column in ("rank", "score", "record", "title"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["rank"]),
            "" if r["score"] is None else f"{r['score']:.2f}",
            r["record_id"],
            r["title"] or "(no title)",  # Table cells are plain text, never rich markup
        )
    console.print(table)
    console.print(f"Note: {ORDER_SAID}.", highlight=False, markup=False)
