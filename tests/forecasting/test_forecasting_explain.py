"""Per-cell explanations (forecasting.explain): the feature that drives a model is named, with
the right sign and size; the classical methods are split only where their structure allows."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import make_forecaster
from predictions.forecasting.explain import (
    explain_cells,
    feature_effects,
    feature_label,
    method_note,
)
from predictions.forecasting.features import build_features
from predictions.forecasting.registry import METHODS

SMALL_HGB = {"n_origins": 8, "estimator_params": {"max_iter": 40}}


@pytest.fixture(scope="module")
def until(city):
    return city.events.times.max().astype("datetime64[D]") + np.timedelta64(1, "D")


@pytest.fixture(scope="module")
def glm(city, grid, until):
    """A fitted ML forecaster whose trained model the tests replace by toy ones."""
    return make_forecaster("poisson_glm", grid=grid, target="burglary").fit(city.events, until)


def top_cells(forecaster, until, n=100):
    scores = forecaster.predict_grid(until, 7)
    active = np.flatnonzero(forecaster.active_)
    return active[np.argsort(-scores[active], kind="stable")[:n]], scores


class Toy:
    """A 'trained model' whose output depends on the named features only."""

    def __init__(self, names, weights, intercept=0.0):
        self.names, self.weights, self.intercept = names, weights, intercept

    def bind(self, feature_names):
        self.index = {n: feature_names.index(n) for n in self.names}
        return self

    def predict(self, x):
        out = np.full(x.shape[0], self.intercept)
        for name, w in zip(self.names, self.weights, strict=True):
            out = out + w * x[:, self.index[name]]
        return out


def with_toy(forecaster, until, toy):
    forecaster.feature_rows(until, 7)  # sets feature_names_
    forecaster.models_[7] = toy.bind(list(forecaster.feature_names_))
    return forecaster


def test_the_feature_that_drives_the_model_is_the_strongest_with_its_exact_effect(glm, until):
    f = with_toy(glm, until, Toy(["tgt_cell_28d"], [3.0]))
    cells, _ = top_cells(f, until)
    found = feature_effects(f, until, 7, cells)
    j = found["names"].index("tgt_cell_28d")
    typical = found["typical"][j]
    values = found["values"][:, j]
    assert np.allclose(found["effect"][:, j], 3.0 * (values - typical))
    others = np.delete(found["effect"], j, axis=1)
    assert np.all(others == 0.0)  # nothing else moves this model
    explained = explain_cells(f, until, 7, cells)
    busy = values > typical
    assert busy.sum() > 10
    for item, is_busy in zip(explained, busy, strict=True):
        if is_busy:
            strongest = item["features"][0]
            assert strongest["name"] == "tgt_cell_28d"
            assert strongest["effect"] > 0  # a busier cell than typical: the forecast is higher
            assert len(item["features"]) == 1


def test_a_feature_that_lowers_the_forecast_has_a_negative_effect(glm, until):
    # a toy model for which more crime around the cell last year means a lower forecast
    f = with_toy(glm, until, Toy(["all_n7_365d"], [-0.01], intercept=5.0))
    cells = np.flatnonzero(f.active_)
    found = feature_effects(f, until, 7, cells)
    j = found["names"].index("all_n7_365d")
    value, typical, effect = found["values"][:, j], found["typical"][j], found["effect"][:, j]
    busy, quiet = value > typical, value < typical
    assert busy.any() and quiet.any()
    assert np.all(effect[busy] < 0)  # its busy year lowers this cell's forecast
    assert np.all(effect[quiet] > 0)
    assert np.all(effect[value == typical] == 0)
    assert np.allclose(effect, -0.01 * (value - typical), atol=1e-5)


def test_effects_of_a_real_model_explain_the_forecast_it_made(city, grid, until):
    f = make_forecaster("hgb_poisson", grid=grid, target="burglary", **SMALL_HGB).fit(
        city.events, until
    )
    cells, scores = top_cells(f, until, 50)
    found = feature_effects(f, until, 7, cells)
    assert np.allclose(found["prediction"], scores[cells], rtol=1e-6)
    explained = explain_cells(f, until, 7, cells, top_k=3)
    assert all(item["kind"] == "features" and item["unit"] == "count" for item in explained)
    assert all(1 <= len(item["features"]) <= 3 for item in explained)
    first = explained[0]["features"]
    assert abs(first[0]["effect"]) >= abs(first[-1]["effect"])  # strongest first
    # the top cell of a self-exciting city is high because of its recent burglaries
    assert any(item["effect"] > 0 and item["name"].startswith("tgt_") for item in first)


def test_logistic_effects_are_probabilities(city, grid, until):
    f = make_forecaster("logistic", grid=grid, target="burglary").fit(city.events, until)
    cells, scores = top_cells(f, until, 20)
    explained = explain_cells(f, until, 7, cells)
    assert {item["unit"] for item in explained} == {"probability"}
    assert all(0.0 <= item["prediction"] <= 1.0 for item in explained)


def test_only_active_cells_are_explained(glm, until):
    inactive = np.flatnonzero(~glm.active_)
    assert inactive.size
    with pytest.raises(ValueError):
        feature_effects(glm, until, 7, inactive[:1])


def test_sepp_splits_each_cell_into_background_and_near_repeats(city, grid, until):
    f = make_forecaster("sepp", grid=grid, target="burglary").fit(city.events, until)
    cells, scores = top_cells(f, until, 30)
    explained = explain_cells(f, until, 7, cells)
    for item, c in zip(explained, cells, strict=True):
        assert item["kind"] == "sepp"
        assert item["expected"] == pytest.approx(scores[c], abs=1e-4)
        assert item["background"] + item["triggered"] == pytest.approx(item["expected"], abs=2e-4)
        assert item["background"] > 0
    assert explained[0]["triggered"] > 0  # the top cell is hot because of recent burglaries
    assert explained[0]["branching"] == pytest.approx(f.theta_, abs=1e-3)


def test_ensemble_shares_add_up(city, grid, until):
    f = make_forecaster(
        "ensemble", grid=grid, target="burglary", members=(("hgb_poisson", SMALL_HGB), "kde")
    ).fit(city.events, until)
    cells, _ = top_cells(f, until, 10)
    for item in explain_cells(f, until, 7, cells):
        assert [m["method"] for m in item["members"]] == ["hgb_poisson", "kde"]
        assert sum(m["share"] for m in item["members"]) == pytest.approx(1.0, abs=2e-3)


def test_methods_without_a_split_say_so_and_invent_nothing(city, grid, until):
    for name in ("kde", "prospective_hotspot", "retrospective_hotspot"):
        f = make_forecaster(name, grid=grid, target="burglary").fit(city.events, until)
        cells, _ = top_cells(f, until, 5)
        assert explain_cells(f, until, 7, cells) == [{"kind": "method"}] * 5
        assert "No per-feature explanation" in method_note(name, {}, "burglary")
    counts = make_forecaster("recent_counts", grid=grid, target="burglary").fit(city.events, until)
    cells, scores = top_cells(counts, until, 5)
    for item, c in zip(explain_cells(counts, until, 7, cells), cells, strict=True):
        assert item["count"] == pytest.approx(scores[c] * 28 / 7)


def test_method_notes_use_the_models_own_parameters():
    assert "350 m" in method_note("kde", {"bandwidth": 350}, "burglary")
    assert "200 m" in method_note("kde", {}, "burglary")
    assert "typical value" in method_note("hgb_poisson", {})
    assert "chance of at least one" in method_note("logistic", {})
    assert all(method_note(m, {}) for m in METHODS)
    # each learned method is named in words, the forest-and-GLM pair too
    assert method_note("glm_forest_context", {}).startswith(
        "Poisson regression + forest, with context predicts the expected count")


def test_feature_labels_are_plain_words():
    assert (
        feature_label("tgt_cell_28d", 150, "burglary")
        == "burglary incidents in this cell, last 28 days"
    )
    assert (
        feature_label("all_n7_7d", 150, "burglary")
        == "all recorded incidents within ~450 m, last 7 days"
    )
    assert (
        feature_label("tgt_cell_days_since", 150, "burglary")
        == "days since the last burglary incident in this cell"
    )
    assert (
        feature_label("tgt_n3_lastyear", 200, "burglary")
        == "burglary incidents within ~200 m in the same weeks last year"
    )


def test_every_feature_the_models_use_has_a_label(glm, until):
    glm.feature_rows(until, 7)
    names = list(glm.feature_names_)
    assert len(names) > 30
    for name in names:
        label = feature_label(name, 150, "burglary")
        assert label != name and "_" not in label, name
    _, with_cov = build_features(
        glm.hist_,
        np.array([glm.hist_.n_days]),
        7,
        glm.cells_[:3],
        covariates=np.ones(glm.grid.n_cells),
        covariate_names=("street_lights",),
    )
    assert feature_label(with_cov[-1], 150) == "street lights (context layer)"
