"""Training runs on the agency's data: backtest, stored model, model card, forecast."""

import hashlib
from pathlib import Path

import pytest

from predictions.modelling.actions import do_start_training
from predictions.modelling.training import TrainingError, run_training
from predictions.models import ForecastCell, TrainingRun


def test_a_training_run_stores_a_model_card_and_a_forecast(world):
    forecast = world.forecast
    run = forecast.run
    assert run.status == TrainingRun.Status.DONE
    card = run.model_card
    assert card["data"]["events_used"] == run.n_events > 500
    assert set(card["backtest"]["methods"]) >= {
        "uniform", "recent_counts", "recent_counts_365", "kde", "kde_long", "sepp",
        "prospective_hotspot", "oracle"}
    assert card["data"]["excluded_categories"] == {}  # a single-category target
    assert "not grounds for a stop or a search" in card["intended_use"]
    # the stored model is the one the run names
    blob = Path(run.artifact_path).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == run.artifact_sha256


def test_the_forecast_ranks_every_active_cell_once(world):
    forecast = world.forecast
    cells = ForecastCell.objects.filter(forecast=forecast)
    # the 6 km square city in 300 m cells: 20 x 20 active cells inside its boundary
    assert cells.count() == forecast.n_cells == 400
    assert cells.values("cell").distinct().count() == 400
    scores = list(cells.order_by("rank").values_list("score", flat=True))
    assert scores == sorted(scores, reverse=True)
    assert forecast.window_start.isoformat() == "2024-05-30"  # the day after the data ends


def test_the_oracle_bounds_every_method_in_the_backtest(world):
    methods = world.forecast.run.metrics
    oracle = methods["oracle"]["coverage"]["5%"]["hit_rate"]
    for name, m in methods.items():
        assert m["coverage"]["5%"]["hit_rate"] <= oracle + 1e-9, name


def test_a_second_run_of_the_same_task_does_nothing(world):
    run = world.forecast.run
    assert run_training(run.pk) is None
    assert run.model.forecasts.count() == 1


def test_training_without_enough_data_fails_clearly(world):
    from predictions.models import ForecastModel

    model = ForecastModel.objects.create(agency=world.bravo, name="Empty", method="kde")
    run = do_start_training(model, acting_user=world.bob)
    run_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "usable incidents" in run.error_message


def test_an_unknown_method_is_refused(world):
    from predictions.models import ForecastModel

    model = ForecastModel.objects.create(agency=world.alpha, name="X", method="crystal_ball")
    with pytest.raises(TrainingError):
        do_start_training(model, acting_user=world.anna)


def test_the_daily_job_writes_todays_forecast_once(world):
    from datetime import date

    from predictions.forecasts.tasks import regenerate_all

    model = world.forecast.model
    assert regenerate_all(today=date(2024, 6, 10)) == 1
    assert regenerate_all(today=date(2024, 6, 10)) == 1  # the same day again: no second one
    days = sorted(model.forecasts.values_list("window_start", flat=True))
    assert [d.isoformat() for d in days] == ["2024-05-30", "2024-06-10"]


def test_stray_old_records_do_not_stretch_one_month_into_years(world):
    """A month of incidents plus ten dated years back (reported late): too little history
    to backtest, said in words, instead of windows over the empty years."""
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from predictions.models import Dataset, ForecastModel, Incident

    rng = np.random.default_rng(1)
    dataset = Dataset.objects.create(agency=world.bravo, name="march.csv", sha256="1" * 64,
                                     status=Dataset.Status.DONE)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    times = [start + timedelta(hours=int(h)) for h in rng.integers(0, 31 * 24, 400)]
    times += [datetime(2010 + i, 6, 1, tzinfo=UTC) for i in range(10)]
    Incident.objects.bulk_create([
        Incident(agency=world.bravo, dataset=dataset, source_id=f"m{i}", occurred_at=at,
                 raw_category="burglary", category="burglary",
                 lon=-90.25 + rng.normal(0, 0.01), lat=38.63 + rng.normal(0, 0.01))
        for i, at in enumerate(times)])
    model = ForecastModel.objects.create(agency=world.bravo, name="March", method="kde",
                                         category="burglary")
    run = do_start_training(model, acting_user=world.bob)
    run_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert run.error_message.startswith(
        "Too little history to backtest: the incidents run steadily from 2024-03-01 for 31 "
        "days, and a 7-day model needs 70")
