"""Forecasts come from the model a training run stored, checked against its sha256."""

import hashlib
import pickle
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from predictions.bridge import load_arrays, to_events
from predictions.forecasting import make_forecaster
from predictions.forecasts.generation import generate_forecast
from predictions.model_files import ModelFileError
from predictions.models import Forecast


def regenerate(forecast):
    """Delete `forecast` and write it again for the same model and window."""
    model, window_start = forecast.model, forecast.window_start
    forecast.delete()
    return generate_forecast(model.pk, window_start)


def test_it_forecasts_the_window_after_the_data_with_the_stored_model(world):
    assert world.forecast.fit == Forecast.Fit.STORED


def test_it_serves_what_the_stored_file_holds(world):
    """Swap the stored file for a uniform forecaster (and its digest): the forecast follows
    the file, so it was not refitted from the method."""
    forecast = world.forecast
    run = forecast.run
    stored = pickle.loads(Path(run.artifact_path).read_bytes())
    uniform = make_forecaster("uniform", grid=stored.grid, target=stored.target)
    events = to_events(load_arrays(world.alpha), stored.grid)
    blob = pickle.dumps(uniform.fit(events, stored.until_))
    Path(run.artifact_path).write_bytes(blob)
    run.artifact_sha256 = hashlib.sha256(blob).hexdigest()
    run.save(update_fields=["artifact_sha256"])
    again = regenerate(forecast)
    scores = np.array(again.cells.values_list("score", flat=True))
    assert again.fit == Forecast.Fit.STORED
    assert np.ptp(scores) == 0  # uniform: every cell the same


def test_it_refuses_a_model_file_that_does_not_match_its_sha256(world):
    forecast = world.forecast
    model, window_start = forecast.model, forecast.window_start
    path = Path(forecast.run.artifact_path)
    path.write_bytes(path.read_bytes() + b"\0")
    forecast.delete()
    with pytest.raises(ModelFileError, match="sha256"):
        generate_forecast(model.pk, window_start)
    assert not Forecast.objects.filter(model=model).exists()


def test_it_refuses_a_missing_model_file(world):
    forecast = world.forecast
    Path(forecast.run.artifact_path).unlink()
    with pytest.raises(ModelFileError, match="cannot be read"):
        regenerate(forecast)


def test_it_refits_a_later_window_and_says_so(world):
    forecast = world.forecast
    Path(forecast.run.artifact_path).unlink()  # a refit does not read the stored file
    later = generate_forecast(forecast.model_id, forecast.window_start + timedelta(days=7))
    assert later.fit == Forecast.Fit.REFIT
    assert later.run_id == forecast.run_id


def test_the_forecast_page_says_which_fit_made_it(world):
    from tests.test_forecast_viewer import with_purpose

    forecast = world.forecast
    client = with_purpose(world, "anna")
    html = client.get(f"/a/alpha/forecast/?model={forecast.model_id}").content.decode()
    assert f"the stored model of training run #{forecast.run_id}" in html
