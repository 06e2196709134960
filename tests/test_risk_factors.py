"""The risk-factors page of a model: the learned model's feature families in words, once per
run; a classical method says it has none; a bad model file is said, never a 500."""

from __future__ import annotations

from pathlib import Path

from django.urls import reverse

from predictions.models import ForecastModel
from tests.samples import make_forecast

SMALL = {"n_origins": 8, "estimator_params": {"max_iter": 30}}


def page(world, model_id, who="anna"):
    return world.client_for(who).get(reverse("model-risk-factors", args=["alpha", model_id]))


def test_it_measures_a_learned_models_families_in_words(world):
    forecast = make_forecast(world.alpha, world.anna, method="poisson_glm", parameters=SMALL)
    response = page(world, forecast.model_id)
    assert response.status_code == 200
    families = response.context["families"]
    assert families and all(f["words"] for f in families)
    html = response.content.decode()
    assert "Recent incidents in the cell itself" in html or "longer run" in html
    assert "associations the model learned from recorded incidents, not causes" in html


def test_it_is_computed_once_per_run(world, monkeypatch):
    forecast = make_forecast(world.alpha, world.anna, method="poisson_glm", parameters=SMALL)
    first = page(world, forecast.model_id).context["families"]

    def no_second_read(run):
        raise AssertionError("the model file was read again")

    monkeypatch.setattr("predictions.modelling.risk_factors.load_model", no_second_read)
    assert page(world, forecast.model_id).context["families"] == first


def test_a_classical_method_has_no_learned_factors(world):
    response = page(world, world.forecast.model_id)
    assert response.context["found"] == {"reason": "not_learned"}
    assert "learns no weights" in response.content.decode()


def test_an_untrained_model_says_so(world):
    model = ForecastModel.objects.create(agency=world.alpha, name="new", method="poisson_glm")
    assert "no finished training run" in page(world, model.pk).content.decode()


def test_a_changed_model_file_is_reported_not_served(world):
    forecast = make_forecast(world.alpha, world.anna, method="poisson_glm", parameters=SMALL)
    run = forecast.model.runs.get()
    Path(run.artifact_path).write_bytes(b"tampered")
    response = page(world, forecast.model_id)
    assert response.status_code == 200
    assert "does not match" in response.content.decode()
