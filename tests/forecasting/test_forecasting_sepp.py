"""SEPP parameter recovery on simulated data."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import city_grid, make_forecaster, simulate_city
from predictions.forecasting.sepp import fit_grid_sepp


def simulate_daily(mu: np.ndarray, theta: float, omega: float, n_days: int, seed: int):
    """Exact simulation of the daily grid model (loop over days, vectorised over cells)."""
    rng = np.random.default_rng(seed)
    r = np.exp(-omega)
    counts = np.zeros((n_days, mu.size))
    s1 = np.zeros(mu.size)
    for d in range(n_days):
        counts[d] = rng.poisson(mu + theta * s1)
        s1 = r * s1 + (1 - r) * counts[d]
    return counts


def test_em_recovers_daily_model_parameters():
    rng = np.random.default_rng(3)
    mu = rng.gamma(0.5, 0.02, size=2000)
    counts = simulate_daily(mu, theta=0.5, omega=0.3, n_days=730, seed=4)
    res = fit_grid_sepp(counts)
    assert res["converged"]
    assert res["theta_d"] == pytest.approx(0.5, abs=0.05)
    assert res["omega"] == pytest.approx(0.3, rel=0.2)
    assert res["mu"].sum() == pytest.approx(mu.sum(), rel=0.1)
    # cell-level background correlates with the truth
    assert np.corrcoef(res["mu"], mu)[0, 1] > 0.6


def test_em_without_triggering_finds_small_theta():
    mu = np.full(500, 0.05)
    res = fit_grid_sepp(simulate_daily(mu, theta=0.0, omega=0.3, n_days=365, seed=5))
    assert res["theta_d"] < 0.05
    assert res["mu"].mean() == pytest.approx(0.05, rel=0.1)


@pytest.mark.parametrize(("theta", "omega", "seed"), [(0.4, 0.2, 1), (0.6, 0.1, 2), (0.2, 0.25, 3)])
def test_sepp_recovers_synthetic_city(theta, omega, seed):
    """Tolerance: theta +-0.08, omega +-30 %, background rate +-20 % (continuous-time truth).

    Decays are days to weeks (omega <= 0.25/day) as for near-repeat burglary; with much faster
    decay the daily binning biases theta upwards (see the sepp module docstring).
    """
    city = simulate_city(seed=seed, theta=theta, omega=omega)
    grid = city_grid(city)
    until = city.start + np.timedelta64(city.n_days, "D")
    f = make_forecaster("sepp", grid=grid, window_days=city.n_days).fit(city.events, until)
    assert f.theta_ == pytest.approx(theta, abs=0.08)
    assert f.omega_ == pytest.approx(omega, rel=0.3)
    assert f.mu_.sum() == pytest.approx(city.background_total, rel=0.2)
    true_mu = city.background_per_cell(grid)
    assert np.corrcoef(f.mu_, true_mu)[0, 1] > 0.5
