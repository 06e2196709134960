"""Risk factors: grouped permutation importance of a fitted model's feature families."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import make_forecaster
from predictions.forecasting.features import build_features
from predictions.forecasting.importance import FAMILIES, captured_share, families_of, risk_factors

SMALL = {"n_origins": 8, "estimator_params": {"max_iter": 30}}


@pytest.fixture(scope="module")
def fitted(city, grid):
    until = city.events.times.max()
    return make_forecaster("poisson_glm", grid=grid, target="burglary", **SMALL).fit(
        city.events, until)


def test_captured_share_pools_the_windows():
    scores = np.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]])
    labels = np.array([[1, 0, 2, 1], [0, 0, 0, 4]])
    # window 1: top 2 cells hold 1 of 4; window 2: top 2 hold 4 of 4 -> 5 of 8
    assert captured_share(scores, labels, 2) == pytest.approx(5 / 8)


def test_every_engine_feature_has_a_family_in_words(fitted):
    names = build_features(fitted.hist_, np.array([fitted.hist_.n_days]), 7, fitted.cells_,
                           covariates=np.zeros((fitted.grid.n_cells, 1)),
                           covariate_names=("lights",))[1]
    found = families_of(list(names))
    assert "other" not in found
    assert set(found) <= {family for family, _, _ in FAMILIES}


def test_only_the_family_the_model_reads_matters(fitted, monkeypatch):
    names = list(build_features(fitted.hist_, np.array([fitted.hist_.n_days]), 7,
                                fitted.cells_)[1])
    j = names.index("tgt_cell_365d")
    monkeypatch.setattr(fitted, "predict_rows", lambda x, h: x[:, j] + 1e-9 * x[:, 0])
    found = {f.family: f for f in risk_factors(fitted, n_repeats=3)["families"]}
    assert found["long_cell"].drop > 0.05
    others = [f.drop for name, f in found.items() if name != "long_cell"]
    assert all(abs(d) < 1e-6 for d in others)


def test_a_fitted_model_ranks_place_history_above_the_calendar(fitted):
    result = risk_factors(fitted, n_repeats=3)
    families = [f.family for f in result["families"]]
    assert result["incidents"] > 0 and 0 < result["baseline"] <= 1
    assert families.index("calendar") > min(families.index(f) for f in
                                            ("recent_cell", "long_cell", "neighbours"))
    calendar = next(f for f in result["families"] if f.family == "calendar")
    assert calendar.drop == 0.0  # constant within a window: shuffling across cells is a no-op
