"""Honest selection: validation windows choose, test windows report (forecasting.selection)."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from predictions.forecasting import Events, Grid, run_backtest
from predictions.forecasting.backtest import BacktestResult, MethodResult
from predictions.forecasting.selection import (
    block_length,
    margin,
    recommend,
    split_origins,
)

DAY = np.timedelta64(1, "D")


def static_city(seed: int = 3, days: int = 900, n: int = 20, cell: float = 200.0):
    """Incidents from fixed, uneven cell rates (no near repeats, no trend): the truth is a
    long-run count per cell, which is what the long-memory baselines estimate."""
    rng = np.random.default_rng(seed)
    grid = Grid.covering((0, 0, n * cell, n * cell), cell, boundary=box(0, 0, n * cell,
                                                                          n * cell))
    rates = rng.lognormal(-4.0, 1.3, grid.n_cells)  # events per cell per day
    counts = rng.poisson(rates[None, :] * np.ones((days, 1)))
    day, idx = np.nonzero(counts)
    reps = counts[day, idx]
    day, idx = np.repeat(day, reps), np.repeat(idx, reps)
    x = (idx % grid.nx + rng.random(idx.size)) * cell
    y = (idx // grid.nx + rng.random(idx.size)) * cell
    start = np.datetime64("2022-01-01T00:00:00")
    times = start + (day * 86400 + rng.integers(0, 86400, day.size)).astype("timedelta64[s]")
    events = Events(times, x, y, np.full(times.size, "burglary", dtype=object))
    return grid, events, start + days * DAY


def by_hand(captured: dict[str, list[float]], events: list[float]) -> BacktestResult:
    """A backtest of 100 cells per window whose methods caught the given numbers at 1 %."""
    methods = {}
    for name, caught in captured.items():
        m = MethodResult(name)
        for c, e in zip(caught, events, strict=True):
            m.captured.append(np.array([c]))
            m.best.append(np.array([e]))
            m.flagged.append(np.array([1.0]))
            m.events.append(e)
            m.cells.append(100.0)
            m.deviance.append(np.nan)
        methods[name] = m
    starts = np.datetime64("2024-01-01") + 7 * np.arange(len(events)) * DAY
    return BacktestResult(target=None, horizon_days=7, starts=starts, methods=methods)


def test_it_recommends_the_baseline_when_a_baseline_is_the_truth():
    grid, events, until = static_city()
    val, test = split_origins(events.times.min(), until, 7, 12, 12)
    methods = [("uniform", {}), ("recent_counts", {}),
               ("recent_counts_365", {"method": "recent_counts", "days": 365}),
               ("retrospective_hotspot", {}),  # smooths over neighbours: wrong for this city
               ("kde", {"bandwidth": 200.0, "decay_days": 60.0, "window_days": 365})]
    result = run_backtest(events, grid, methods, np.concatenate([val, test]), 7,
                          target="burglary")
    sel = recommend(result, baselines=["uniform", "recent_counts", "recent_counts_365"],
                    candidates=["retrospective_hotspot", "kde"],
                    validation=range(12), test=range(12, 24))
    assert sel["best_baseline"] == "recent_counts_365"
    assert sel["recommended"] == "recent_counts_365" and sel["recommended_is_baseline"]
    for name in ("retrospective_hotspot", "kde"):
        assert sel["validation"]["methods"][name]["low"] <= 0
    assert "is the better choice" in sel["reason"]


def test_it_recommends_a_candidate_that_clearly_beats_the_baselines():
    grid, events, until = static_city()
    val, test = split_origins(events.times.min(), until, 7, 12, 12)
    methods = [("uniform", {}), ("recent_counts_365", {"method": "recent_counts",
                                                        "days": 365})]
    result = run_backtest(events, grid, methods, np.concatenate([val, test]), 7,
                          target="burglary")
    sel = recommend(result, baselines=["uniform"], candidates=["recent_counts_365"],
                    validation=range(12), test=range(12, 24))
    assert sel["recommended"] == "recent_counts_365" and not sel["recommended_is_baseline"]
    assert sel["validation"]["methods"]["recent_counts_365"]["low"] > 0
    assert sel["test"]["methods"]["recent_counts_365"]["margin"] > 0


def test_a_margin_with_its_lower_bound_at_zero_is_not_enough():
    # the candidate catches exactly what the baseline catches: margin 0, interval [0, 0]
    events = [10.0] * 8
    result = by_hand({"base": [3, 4, 2, 5, 3, 4, 2, 5], "copy": [3, 4, 2, 5, 3, 4, 2, 5]},
                     events)
    sel = recommend(result, baselines=["base"], candidates=["copy"], validation=range(4),
                    test=range(4, 8))
    assert sel["validation"]["methods"]["copy"]["margin"] == 0.0
    assert sel["validation"]["methods"]["copy"]["low"] == 0.0
    assert sel["recommended"] == "base"


def test_the_choice_reads_the_validation_windows_only():
    # better than the baseline on validation, far worse on test: still recommended (the
    # test windows report the choice, they do not make it)
    events = [10.0] * 8
    result = by_hand({"base": [2, 2, 2, 2, 5, 5, 5, 5], "cand": [4, 4, 4, 4, 0, 0, 0, 0]},
                     events)
    sel = recommend(result, baselines=["base"], candidates=["cand"], validation=range(4),
                    test=range(4, 8))
    assert sel["recommended"] == "cand"
    assert sel["validation"]["methods"]["cand"]["margin"] == pytest.approx(1.0)
    assert sel["test"]["methods"]["cand"]["margin"] == pytest.approx(-1.0)


def test_the_best_baseline_is_picked_on_validation():
    events = [10.0] * 6
    result = by_hand({"a": [5, 5, 5, 1, 1, 1], "b": [3, 3, 3, 6, 6, 6], "c": [4, 4, 4, 4, 4, 4]},
                     events)
    sel = recommend(result, baselines=["a", "b"], candidates=["c"], validation=range(3),
                    test=range(3, 6))
    assert sel["best_baseline"] == "a"
    assert sel["validation"]["methods"]["c"]["margin"] == pytest.approx(-0.2)
    assert sel["test"]["methods"]["c"]["margin"] == pytest.approx(3.0)


def test_the_margin_is_a_ratio_of_sums_with_a_paired_interval():
    got = margin(np.array([2.0, 4.0, 6.0, 8.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    assert got["margin"] == pytest.approx(1.0)
    # every resample of windows keeps the pairs: the ratio is 2 in each, so is the interval
    assert got["low"] == pytest.approx(1.0) and got["high"] == pytest.approx(1.0)
    assert margin(np.array([1.0]), np.array([0.0]))["margin"] is None


def test_validation_windows_precede_the_test_windows_and_end_at_the_data():
    until = np.datetime64("2024-01-01T00:00:00")
    val, test = split_origins(until - 1000 * DAY, until, 7, 26, 26)
    assert (len(val), len(test)) == (26, 26)
    assert test[-1] + 7 * DAY == until
    assert val[-1] + 7 * DAY == test[0]
    assert np.all(np.diff(np.concatenate([val, test])) == 7 * DAY)


def test_short_data_shrinks_both_periods():
    until = np.datetime64("2024-01-01T00:00:00")
    val, test = split_origins(until - 90 * DAY, until, 7, 26, 26)  # 34 days after 56
    assert (len(val), len(test)) == (2, 2)
    with pytest.raises(ValueError, match="too little history"):
        split_origins(until - 60 * DAY, until, 7, 26, 26)


def test_bootstrap_blocks_are_about_four_weeks():
    assert block_length(7, 26) == 4
    assert block_length(1, 28) == 7  # at most a quarter of the windows
    assert block_length(28, 6) == 1
