"""Events at or after t cannot change the prediction for [t, t + h)."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import METHODS, Events, make_forecaster, registry, run_backtest
from predictions.forecasting.baselines import RecentCountsForecaster

FAST = {"n_origins": 4}
SMALL_HGB = {**FAST, "estimator_params": {"max_iter": 20}}
SMALL = {
    "hgb_poisson": {**FAST, "estimator_params": {"max_iter": 20}},
    "random_forest": {**FAST, "estimator_params": {"n_estimators": 5}},
    "poisson_glm": FAST,
    "logistic": FAST,
    "mlp": {**FAST, "estimator_params": {"max_iter": 3}},
    "glm_forest_context": {**FAST, "estimator_params": {"forest": {"n_estimators": 5}}},
    "ensemble": {"members": ("recent_counts", ("hgb_poisson", SMALL_HGB))},
}


def future_noise(city, t, n=400, seed=0):
    """A burst of events at and after t, concentrated in one corner."""
    rng = np.random.default_rng(seed)
    secs = rng.integers(0, 10 * 86400, n).astype("timedelta64[s]")
    secs[:20] = np.timedelta64(0, "s")  # exactly at t
    x0, y0 = city.bounds[:2]
    return Events(t + secs, x0 + rng.uniform(0, 600, n), y0 + rng.uniform(0, 600, n), "burglary")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_future_events_do_not_change_predictions(city, grid, day, name):
    t = (city.start + 500 * day).astype("datetime64[s]")
    past = city.events.before(t)
    polluted = city.events.concat(future_noise(city, t))
    params = SMALL.get(name, {})
    a = make_forecaster(name, grid=grid, **params).fit(past, t)
    b = make_forecaster(name, grid=grid, **params).fit(polluted, t)
    for h in (1, 7):
        np.testing.assert_array_equal(a.predict_grid(t, h), b.predict_grid(t, h))
        np.testing.assert_array_equal(a.predict(t, h), b.predict(t, h))
    # and the noise would have changed a forecaster that could see it
    c = make_forecaster(name, grid=grid, **params).fit(polluted, t + 11 * day)
    assert not np.array_equal(a.predict_grid(t + 11 * day, 7), c.predict_grid(t + 11 * day, 7))


class PeekingForecaster(RecentCountsForecaster):
    """A deliberately broken method that ignores ``until`` and uses every event it is given."""

    def fit(self, events, until):
        super().fit(events, until)
        self.field_ = self.field_ + 100.0 * np.bincount(
            np.maximum(self.grid.cell_index(events.x, events.y), 0), minlength=self.grid.n_cells
        )
        return self


def test_backtest_only_passes_past_events(city, grid, day, monkeypatch):
    monkeypatch.setitem(registry.METHODS, "peeking", (PeekingForecaster, {}))
    starts = city.start + np.array([500, 514, 528]) * day
    clean = run_backtest(city.events, grid, ["peeking", "sepp"], starts, 7, export=True)
    noise = future_noise(city, starts[0].astype("datetime64[s]"))
    noisy = run_backtest(
        city.events.concat(noise), grid, ["peeking", "sepp"], starts[:1], 7, export=True
    )
    for name in ("peeking", "sepp"):
        np.testing.assert_array_equal(clean.predictions[name][0], noisy.predictions[name][0])


def test_predicting_before_the_fit_time_is_refused(city, grid, day):
    f = make_forecaster("kde", grid=grid).fit(city.events, city.start + 400 * day)
    with pytest.raises(ValueError):
        f.predict(city.start + 399 * day, 7)
    with pytest.raises(RuntimeError):
        make_forecaster("kde", grid=grid).predict(city.start, 7)
