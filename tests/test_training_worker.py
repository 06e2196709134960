"""A real worker killed in the middle of a training run: the run resumes on another worker
within a minute (the deployed defaults: an hour's visibility timeout), and ends once, with
its model file, model card and first forecast."""

import hashlib
import io
import time
from pathlib import Path

import pytest
from django.urls import reverse

from audit.events import Action
from audit.models import AccessEvent
from predictions.demo import MAPPING, synthetic_csv
from predictions.incidents.actions import do_upload
from predictions.jobs import INTERRUPTED
from predictions.modelling.actions import do_start_training
from predictions.models import Dataset, Forecast, ForecastCell, ForecastModel, TrainingRun
from tests.worker import (
    DEFAULT_RESUMING,
    follow_status,
    start_beat,  # noqa: F401 - a fixture
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_killed_training_run_resumes_within_a_minute_and_ends_once(
        world, start_worker, start_beat):  # noqa: F811
    # given two years of the synthetic city imported by a worker, with celery beat, as
    # deployed (with the defaults)
    start_beat(**DEFAULT_RESUMING)
    worker = start_worker(**DEFAULT_RESUMING)
    text, boundary = synthetic_csv(n_days=730)
    world.alpha.boundary = boundary
    world.alpha.save(update_fields=["boundary"])
    dataset = do_upload(world.alpha, [("city.csv", io.BytesIO(text.encode()))],
                        acting_user=world.anna, format="generic_csv", mapping=MAPPING)
    wait_for(lambda: Dataset.objects.get(pk=dataset.pk).status == Dataset.Status.DONE)

    # when a next-day SEPP model's run (28 backtest windows) is started, and its worker
    # killed (SIGKILL) a fifth of the way through the backtest
    model = ForecastModel.objects.create(agency=world.alpha, name="Burglary daily",
                                         category="burglary", horizon_days=1, method="sepp",
                                         cell_size_m=150)
    run = do_start_training(model, acting_user=world.anna)
    wait_for(lambda: TrainingRun.objects.get(pk=run.pk).progress >= 18, interval=0.01)
    worker.kill()
    killed = time.monotonic()

    # then the run is still running, with nothing stored
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING and run.progress < 90
    assert not Forecast.objects.filter(model=model).exists()

    # when a worker is there again (as a supervisor restarts it), the page says the run was
    # interrupted and is resuming, and it is done (its first forecast written) within a
    # minute of the kill
    start_worker(**DEFAULT_RESUMING)
    client = world.client_for("anna")
    status_url = reverse("training-run-status", args=["alpha", run.pk])
    answer, shown = follow_status(client, status_url, lambda a: a["status"] == "done",
                                  timeout=120)
    wait_for(lambda: Forecast.objects.filter(model=model).exists(), interval=0.1)  # (next)
    seconds = time.monotonic() - killed
    print(f"\ntraining run: done {seconds:.1f} s after the kill; shown {shown}")
    assert INTERRUPTED in shown
    assert seconds <= 60
    page = client.get(reverse("training-run", args=["alpha", run.pk])).content.decode()
    assert "Trained" in page and INTERRUPTED not in page

    # then it ran to its end once (the killed attempt and one more): one model file, whose
    # sha256 the run keeps, one audit record, and its first forecast with every cell
    run.refresh_from_db()
    assert (run.attempts, run.interruptions) == (2, 1)
    assert run.status == TrainingRun.Status.DONE and run.error_message == ""
    assert "sepp" in run.metrics and run.model_card["backtest"]["windows"]
    artifact = Path(run.artifact_path)
    assert hashlib.sha256(artifact.read_bytes()).hexdigest() == run.artifact_sha256
    assert list(artifact.parent.iterdir()) == [artifact]
    assert AccessEvent.objects.filter(action=Action.MODEL_TRAIN, object_type="training_run",
                                      object_id=str(run.pk)).count() == 1
    forecast = Forecast.objects.get(model=model)
    assert forecast.run_id == run.pk
    assert ForecastCell.objects.filter(forecast=forecast).count() == forecast.n_cells > 0
