"""Stopping rules: screener's (a fading rate of discovery), buscar's, the oracle, and what the
screen says about them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from screener.ranking.stopping import (
    DEFAULT_RULE,
    RateRule,
    buscar_p,
    buscar_stop,
    expectation,
    expected_left,
    knee,
    last_quarter_rate,
    oracle_stop,
    slowest_recent_rate,
    stopping_statement,
)


def ranked_orders(runs: int, seed: int = 0, n: int = 2000, bias: float = 20.0):  # noqa: ANN201
    """Orders where relevant records come up `bias` times likelier than the others, as a
    ranking makes them, with 10 to 120 relevant records."""
    rng = np.random.RandomState(seed)
    for _ in range(runs):
        relevant = rng.randint(10, 120)
        weights = np.where(np.arange(n) < relevant, bias, 1.0)
        order = rng.choice(n, size=n, replace=False, p=weights / weights.sum())
        yield (order < relevant).astype(int)


def test_buscar_p_is_the_smallest_hypergeometric_tail_over_the_last_runs():
    """Written out window by window, as Callaghan & Müller-Hansen state the test."""
    from scipy.stats import hypergeom

    labels = np.array([1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    total, target = 60, 0.95
    found = labels.sum()
    expected = []
    for n in range(1, len(labels) + 1):
        window = labels[len(labels) - n :]
        seen_in_window = window.sum()
        urn = total - len(labels) + n
        least = math.floor(found / target) + 1 - (found - seen_in_window)
        expected.append(0.0 if least > urn else hypergeom.cdf(seen_in_window, urn, least, n))
    assert buscar_p(labels, total, target) == pytest.approx(min(expected))
    assert buscar_p(labels, len(labels)) == 0.0  # everything screened
    with pytest.raises(ValueError, match="bias"):
        buscar_p(labels, total, target, bias=2.0)


def test_buscar_stops_at_its_first_check_below_alpha():
    labels = next(ranked_orders(1, seed=3))
    stop = buscar_stop(labels)
    assert stop.stopped_at % 10 == 0 or stop.stopped_at == len(labels)
    assert buscar_p(labels[: stop.stopped_at], len(labels)) < 0.05
    earlier = range(10, stop.stopped_at, 10)
    assert all(buscar_p(labels[:s], len(labels)) >= 0.05 for s in earlier)


def test_oracle_stops_where_recall_first_reaches_the_target():
    labels = np.array([1] * 19 + [0] * 30 + [1] + [0] * 50)
    stop = oracle_stop(labels, 0.95)
    assert stop.stopped_at == 19 and stop.recall == 0.95 and stop.work_saved == pytest.approx(0.81)
    assert oracle_stop(labels, 1.0).stopped_at == 50


def test_knee_is_where_the_gain_curve_bends():
    labels = np.array([1] * 30 + [0] * 70 + [1] + [0] * 99)
    assert knee(labels) == 30
    assert knee(np.zeros(5, dtype=int)) == 0


def test_expected_left_grows_with_a_slower_discovery():
    fast = np.array([1] * 20 + [0] * 200)
    slow = np.array(([1] + [0] * 10) * 20)
    assert expected_left(fast, 2000, from_knee=False) < expected_left(slow, 2000, from_knee=False)


def test_slowest_recent_rate_is_the_slowest_run_of_the_last_records_one_more_counted():
    def written_out(labels: np.ndarray) -> float:
        return min((labels[len(labels) - n :].sum() + 1) / n for n in range(1, len(labels) + 1))

    labels = np.array([1] * 20 + [0] * 200)
    # The last 200 hold no relevant record: (0 + 1) / 200; longer runs reach the 20 found.
    assert slowest_recent_rate(labels) == pytest.approx(1 / 200) == pytest.approx(written_out(labels))
    mixed = np.array(([1] + [0] * 10) * 20 + [0] * 50)
    assert slowest_recent_rate(mixed) == pytest.approx(written_out(mixed))
    assert slowest_recent_rate(np.array([], dtype=int)) == 1.0


def test_last_quarter_rate_counts_a_tenth_of_a_record_besides_those_found():
    labels = np.array([1] * 20 + [0] * 60 + [1, 0, 0, 0, 1] + [0] * 15)  # 100 screened: 2 in the last 25
    assert last_quarter_rate(labels) == pytest.approx((2 + 0.1) / 25)
    assert last_quarter_rate(np.array([1] * 20 + [0] * 80)) == pytest.approx(0.1 / 25)


def test_a_steady_tail_keeps_the_rule_going_where_the_slowest_rate_alone_stops():
    """Relevant records still turning up every 100 records, as title/abstract labels do: the
    last quarter's rate says more are left than the slowest run of the last records does."""
    steady = np.array([1] * 150 + [0] * 250 + ([0] * 99 + [1]) * 10 + [0] * 20)  # 1,420 screened
    total = 3000
    slowest_only = RateRule(slack=0.0, floor=0.25)
    both = RateRule(slack=0.0, floor=0.25, recent=0.4)
    assert both.floor_left(steady, total) == pytest.approx(0.4 * last_quarter_rate(steady) * (total - 1420))
    assert both.floor_left(steady, total) > slowest_only.floor_left(steady, total)
    assert expected_left(steady, total, from_knee=False) < 0.1  # the fitted fade sees nothing left
    assert slowest_only.says_stop(steady, total) and not both.says_stop(steady, total)


def test_the_rule_bounds_what_is_left_by_the_larger_of_the_fit_and_the_floor():
    from scipy.stats import poisson

    rule = RateRule(slack=0.0, floor=0.25)
    fast = np.array([1] * 20 + [0] * 200)  # the fit expects next to nothing: the floor decides
    floor = 0.25 * (1 / 200) * (2000 - 220)
    assert rule.floor_left(fast, 2000) == pytest.approx(floor)
    assert expected_left(fast, 2000, from_knee=False) < floor
    assert rule.left_high(fast, 2000) == poisson.ppf(0.95, floor)
    slow = np.array(([1] + [0] * 10) * 20)  # still finding: the fit decides
    fitted = expected_left(slow, 2000, from_knee=False)
    assert fitted > rule.floor_left(slow, 2000)
    assert rule.left_high(slow, 2000) == poisson.ppf(0.95, fitted)
    assert RateRule(slack=0.0).floor_left(fast, 2000) == 0.0


def test_screeners_rule_meets_its_target_and_saves_more_than_buscar():
    met, ours, theirs = [], [], []
    for labels in ranked_orders(30, seed=1, n=800):
        stop = DEFAULT_RULE.stop(labels)
        met.append(stop.recall >= 0.95)
        ours.append(stop.work_saved)
        theirs.append(buscar_stop(labels).work_saved)
    assert np.mean(met) >= 0.95
    assert np.median(ours) > np.median(theirs) > 0


def test_the_rule_waits_for_a_relevant_record_and_for_enough_records():
    assert not DEFAULT_RULE.says_stop(np.zeros(500, dtype=int), 2000)
    assert not DEFAULT_RULE.says_stop(np.array([1] * 20 + [0] * 40), 2000)  # under min_screened
    assert DEFAULT_RULE.says_stop(np.array([1] * 20 + [0] * 40), 60)  # everything screened


def test_statement_says_how_many_more_records_the_rule_expects():
    labels = np.array([1] * 30 + [0] * 80)
    said = expectation(labels, 3000)
    assert not said.says_stop and said.more > 0 and said.relevant_left >= 1
    text, stop = stopping_statement(labels, 3000)
    assert text == f"the stopping rule expects about {said.more} more records to reach 95% recall"
    assert stop is False
    # That many irrelevant records later the rule says stop, one fewer and it does not.
    done = np.concatenate([labels, np.zeros(said.more, dtype=int)])
    assert stopping_statement(done, 3000) == ("the stopping rule says stop: 95% recall is reached", True)
    assert not expectation(done[:-1], 3000).says_stop
    # A relevant record among them pushes the stop further.
    found_another = np.concatenate([labels, [0] * 10, [1]])
    assert expectation(found_another, 3000).more > said.more - 11
    assert expectation(np.zeros(40, dtype=int), 3000).more is None
    assert "needs a relevant record" in stopping_statement(np.zeros(40, dtype=int), 3000)[0]
    assert "90% recall" in expectation(labels, 3000, target=0.9).statement()
    everything = expectation(np.array([1, 0, 1, 0]), 4)
    assert everything.says_stop and everything.statement() == "every record is screened: recall is 100%"
    # No record at all: nothing to screen, and no recall to claim.
    assert expectation(np.array([], dtype=int), 0).statement() == "no record to screen"
    from screener.ranking.stopping import rounds_estimate

    assert "recall" not in rounds_estimate([], True, "your share").describe()
    assert "your share (1 record)" in rounds_estimate([(1, [0], 1)], True, "your share").describe()


def test_recall_curves_mark_where_the_rule_stopped(tmp_path, monkeypatch):
    from screener.ranking import plots
    from screener.ranking.simulate import Simulation

    labels = next(ranked_orders(1, seed=5, n=600))
    run = Simulation(0, list(range(len(labels))), (), labels, [])
    stop = run.stopping()
    shown = {}
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: shown.update(figure=figure))
    plots.recall_plot([run], tmp_path / "curves.png")
    marks = [line for line in shown["figure"].axes[0].get_lines() if line.get_marker() == "v"]
    assert len(marks) == 1
    x, y = marks[0].get_xdata()[0], marks[0].get_ydata()[0]
    assert x == pytest.approx(stop.stopped_at / len(labels) * 100) and y == pytest.approx(stop.recall * 100)
    assert marks[0].get_label() == "stopping rule says stop"
