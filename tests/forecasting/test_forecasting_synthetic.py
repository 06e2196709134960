"""Synthetic city: determinism, calibration of the true intensity, and the ranking bounds."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import rolling_origins, run_backtest, simulate_city
from predictions.forecasting.counts import cell_counts

ML_FAST = {"n_origins": 20, "zero_fraction": 0.3, "refit_every_days": 400}


def test_simulation_is_deterministic_and_has_known_structure(city):
    again = simulate_city(seed=1)
    assert np.array_equal(again.events.times, city.events.times)
    assert np.array_equal(again.events.x, city.events.x)
    other = simulate_city(seed=2)
    assert len(other.events) != len(city.events) or not np.array_equal(
        other.events.x, city.events.x
    )
    n = len(city.events)
    expected = city.background_total * city.n_days / (1 - city.theta)
    assert n == pytest.approx(expected, rel=0.1)
    assert city.is_background.mean() == pytest.approx(1 - city.theta, abs=0.05)
    assert np.all(np.diff(city.events.times.astype(np.int64)) >= 0)
    x0, y0, x1, y1 = city.bounds
    assert (city.events.x >= x0).all() and (city.events.x < x1).all()
    assert city.lon.min() > -91 and city.lon.max() < -89  # placed near St. Louis


def test_true_expected_counts_are_calibrated(city, grid, day):
    """Summed over many windows, E[N] from the true intensity matches the realised counts."""
    starts = city.start + (400 + 7 * np.arange(40)) * day
    exp_total, obs_total = np.zeros(grid.n_cells), np.zeros(grid.n_cells)
    for t in starts:
        exp_total += city.expected_counts(grid, t, 7, city.events.before(t))
        obs_total += cell_counts(grid, city.events.between(t, t + 7 * day))
    assert obs_total.sum() == pytest.approx(exp_total.sum(), rel=0.08)
    assert np.corrcoef(exp_total, obs_total)[0, 1] > 0.7


@pytest.fixture(scope="module")
def synthetic_backtest(city, grid):
    starts = rolling_origins(
        city.start + 450 * np.timedelta64(1, "D"), city.start + 730 * np.timedelta64(1, "D"), 7, 21
    )

    def truth(past, t, h):
        return city.expected_counts(grid, t, h, past)

    methods = [
        "uniform",
        "recent_counts",
        "kde",
        "retrospective_hotspot",
        "prospective_hotspot",
        "sepp",
        ("hgb_poisson", ML_FAST),
        ("poisson_glm", ML_FAST),
    ]
    return run_backtest(city.events, grid, methods, starts, 7, extra_scorers={"truth": truth})


def test_no_method_beats_the_true_intensity(synthetic_backtest):
    res = synthetic_backtest
    truth = res.methods["truth"]
    for name, m in res.methods.items():
        if name in ("truth", "oracle"):
            continue
        for j in (1, 3):  # 1 % and 5 % coverage
            cap_m = np.array(m.captured)[:, j]
            cap_t = np.array(truth.captured)[:, j]
            diff = cap_m - cap_t
            se = diff.std(ddof=1) * np.sqrt(diff.size)
            # pooled captured events: method - truth <= noise (2 standard errors)
            assert diff.sum() <= 2.0 * se + 1.0, (name, j, diff.sum(), se)


def test_oracle_bounds_everything(synthetic_backtest):
    summ = synthetic_backtest.summary()
    for cov in ("0.5%", "1%", "5%"):
        best = summ["oracle"]["coverage"][cov]["pai"]
        assert summ["oracle"]["coverage"][cov]["pei"] == pytest.approx(1.0)
        for name, s in summ.items():
            assert s["coverage"][cov]["pai"] <= best + 1e-9, name


def test_sepp_and_ml_beat_uniform(synthetic_backtest):
    summ = synthetic_backtest.summary()
    for cov in ("1%", "5%"):
        uni = summ["uniform"]["coverage"][cov]["pai"]
        for name in ("sepp", "hgb_poisson", "poisson_glm"):
            assert summ[name]["coverage"][cov]["pai"] > max(2.0 * uni, 3.0), (name, cov)
    # SEPP is the generating model: it is the closest to the truth and calibrated
    dev = {k: v["mean_poisson_deviance"] for k, v in summ.items() if v["mean_poisson_deviance"]}
    assert dev["truth"] <= min(dev.values()) + 1e-3
    assert dev["sepp"] < dev["uniform"]


def test_expected_pai_of_truth_is_an_upper_bound(city, grid, day):
    """Scored against the expected counts themselves, no ranking beats the true intensity."""
    from predictions.forecasting import make_forecaster
    from predictions.forecasting.evaluation import window_counts

    t = city.start + 600 * day
    expected = city.expected_counts(grid, t, 7, city.events.before(t))
    best = window_counts(expected, expected)["captured"]
    for name in ("recent_counts", "kde", "prospective_hotspot", "sepp"):
        f = make_forecaster(name, grid=grid).fit(city.events, t)
        got = window_counts(f.predict_grid(t, 7), expected)["captured"]
        assert np.all(got <= best + 1e-9)
