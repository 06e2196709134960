"""Every scheduled task and every route names tasks the worker has registered."""

from fnmatch import fnmatch

import pytest
from django.conf import settings

from portal.celery import app


@pytest.fixture(scope="module")
def registered() -> set[str]:
    app.loader.import_default_modules()  # the autodiscovered tasks modules, as a worker does
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_every_beat_entry_names_a_registered_task(registered):
    for entry, spec in settings.CELERY_BEAT_SCHEDULE.items():
        assert spec["task"] in registered, entry


def test_every_route_sends_some_task_and_every_heavy_task_has_its_queue(registered):
    routes = settings.CELERY_TASK_ROUTES
    for pattern in routes:
        assert any(fnmatch(name, pattern) for name in registered), pattern
    queue_of = {name: next((r["queue"] for p, r in routes.items() if fnmatch(name, p)), None)
                for name in registered}
    assert queue_of["predictions.incidents.tasks.import_dataset"] == "imports"
    assert queue_of["predictions.modelling.tasks.train_model"] == "training"
    assert queue_of["predictions.forecasts.tasks.make_forecast"] == "forecasts"
