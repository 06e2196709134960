"""Metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from predictions.forecasting.evaluation import (
    bootstrap_ratio_ci,
    hit_rate,
    mean_ci,
    n_flagged,
    pai,
    pei,
    poisson_deviance,
    rank_cells,
    summarise_windows,
    window_counts,
)

# 10 cells; events: cell 0 has 3, cell 4 has 1, cell 9 has 2 -> 6 events
COUNTS = np.array([3, 0, 0, 0, 1, 0, 0, 0, 0, 2], float)
SCORES = np.array([0.9, 0.8, 0.1, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.2])


def test_n_flagged_rounding_and_bounds():
    assert n_flagged(0.01, 1000) == 10
    assert n_flagged(0.005, 100) == 1  # 0.5 rounds half up
    assert n_flagged(0.005, 90) == 1  # 0.45 -> 0, at least one cell
    assert n_flagged(0.05, 250) == 13  # 12.5 -> 13
    assert n_flagged(0.10, 7604) == 760
    assert n_flagged(1.5, 10) == 10
    with pytest.raises(ValueError):
        n_flagged(0.01, 0)


def test_hit_rate_pai_pei_hand_computed():
    # 20 % of 10 cells = 2 flagged: cells 0 and 1 -> 3 of 6 events
    assert hit_rate(SCORES, COUNTS, 0.2) == pytest.approx(0.5)
    assert pai(SCORES, COUNTS, 0.2) == pytest.approx(0.5 / 0.2)
    # best 2 cells hold 3 + 2 = 5 events
    assert pei(SCORES, COUNTS, 0.2) == pytest.approx(3 / 5)
    # 30 %: cells 0, 1, 4 -> 4 events of 6; best 3 cells hold 6
    assert hit_rate(SCORES, COUNTS, 0.3) == pytest.approx(4 / 6)
    assert pai(SCORES, COUNTS, 0.3) == pytest.approx((4 / 6) / 0.3)
    assert pei(SCORES, COUNTS, 0.3) == pytest.approx(4 / 6)


def test_no_events_gives_nan():
    zeros = np.zeros(10)
    assert math.isnan(hit_rate(SCORES, zeros, 0.2))
    assert math.isnan(pai(SCORES, zeros, 0.2))
    assert math.isnan(pei(SCORES, zeros, 0.2))


def test_ties_broken_by_index_hit_exact_coverage():
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.0, 2.0])
    assert rank_cells(scores).tolist() == [1, 2, 3, 5, 0, 4]
    counts = np.array([0, 0, 0, 5, 0, 7], float)
    # 50 % of 6 cells = 3: tied cells 1, 2, 3 flagged, not 5, exactly 3 cells
    w = window_counts(scores, counts, (0.5,))
    assert w["flagged"][0] == 3
    assert w["captured"][0] == 5
    assert w["best"][0] == 12
    # constant scores flag the first k cells
    assert window_counts(np.ones(6), counts, (0.5,))["captured"][0] == 0
    # NaN scores rank last
    assert rank_cells(np.array([np.nan, 1.0, 0.0])).tolist() == [1, 2, 0]


def test_pooled_differs_from_mean_of_windows():
    # two windows, 10 cells each, 1 cell flagged (10 %)
    captured = np.array([[1.0], [0.0]])
    best = np.array([[1.0], [3.0]])
    flagged = np.array([[1.0], [1.0]])
    events = np.array([1.0, 9.0])
    cells = np.array([10.0, 10.0])
    s = summarise_windows(captured, best, flagged, events, cells, (0.1,))["coverage"]["10%"]
    assert s["hit_rate"] == pytest.approx(1 / 10)  # pooled: (1 + 0) / (1 + 9)
    assert s["pai"] == pytest.approx(1.0)
    assert s["pei"] == pytest.approx(1 / 4)
    assert s["window_hit_rate"][0] == pytest.approx(0.5)  # mean of 1.0 and 0.0
    assert s["window_pai"][0] == pytest.approx(5.0)
    assert s["window_pei"][0] == pytest.approx(0.5)
    lo, hi = s["pai_ci"]
    assert lo <= s["pai"] <= hi


def test_mean_ci_normal_approximation():
    m, lo, hi = mean_ci(np.array([1.0, 2.0, 3.0, 4.0, np.nan]))
    half = 1.96 * np.std([1, 2, 3, 4], ddof=1) / 2.0
    assert m == pytest.approx(2.5)
    assert (lo, hi) == pytest.approx((2.5 - half, 2.5 + half))


def test_poisson_deviance_hand_computed():
    y = np.array([0.0, 1.0, 2.0])
    mu = np.array([0.5, 1.0, 1.0])
    expected = 2 * ((0 - (0 - 0.5)) + (0 - 0) + (2 * math.log(2) - 1))
    assert poisson_deviance(y, mu) == pytest.approx(expected)
    assert poisson_deviance(y, y + 0.0) == pytest.approx(0.0, abs=1e-6)
    assert poisson_deviance(y, mu) > poisson_deviance(y, np.array([0.1, 1.0, 2.0]))


def test_block_bootstrap_widens_the_interval_of_runs_of_alike_windows():
    # given 60 windows whose ratios come in runs of ten alike windows (a shared model, a season)
    num = np.repeat([2.0, 8.0, 3.0, 9.0, 1.0, 7.0], 10)
    den = np.full(60, 10.0)
    # when windows are resampled one by one, or in blocks of ten
    plain = bootstrap_ratio_ci(num, den)
    blocks = bootstrap_ratio_ci(num, den, block=10)
    # then one-by-one equals the default, and the blocks see fewer independent pieces
    assert plain == bootstrap_ratio_ci(num, den, block=1)
    assert blocks[1] - blocks[0] > 1.5 * (plain[1] - plain[0])
    assert blocks[0] < 0.5 < blocks[1]
