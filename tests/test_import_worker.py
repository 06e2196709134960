"""A real worker killed in the middle of an import: nothing shows, the import resumes on
another worker within a minute (the deployed defaults: an hour's visibility timeout) and
completes exactly once."""

import time

import pytest
from django.urls import reverse

from audit.events import Action
from audit.models import AccessEvent
from predictions.incidents.actions import do_upload
from predictions.incidents.importer import forget_progress, progress_of
from predictions.jobs import INTERRUPTED
from predictions.models import Dataset, Incident
from tests.test_import import SLMPD_TAR
from tests.worker import (
    DEFAULT_RESUMING,
    follow_status,
    share_cache_with_workers,
    start_beat,  # noqa: F401 - a fixture
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def copying(progress: dict | None, rows: int = 50_000) -> bool:
    """At least ``rows`` rows read and copied into the import's uncommitted transaction,
    and more to read (of 246,291)."""
    return bool(progress) and progress["phase"] == "reading" and progress["rows_read"] >= rows


@pytest.mark.parametrize("redelivery", [
    pytest.param({}, id="default-visibility"),
    # the broker also gives the killed worker's task back, 5 s after it was taken
    pytest.param({"CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_RESTORE_INTERVAL": "1"},
                 id="broker-redelivers-too"),
])
def test_a_killed_import_resumes_within_a_minute_and_completes_once(
        world, start_worker, start_beat, settings, redelivery):  # noqa: F811
    # given all 60 SLMPD months waiting for a worker, and celery beat, as deployed (with
    # the defaults), the worker reporting its progress where this test can read it
    cache_url = share_cache_with_workers(settings)
    with open(SLMPD_TAR, "rb") as upload:
        dataset = do_upload(world.alpha, [(SLMPD_TAR.name, upload)], acting_user=world.anna)
    forget_progress(dataset.pk)  # an earlier run's, under the same id
    worker_env = {**DEFAULT_RESUMING, "CACHE_URL": cache_url, **redelivery}
    start_beat(**worker_env)
    worker = start_worker(**worker_env)

    # when the worker is killed (SIGKILL) a fifth of the way through the rows
    wait_for(lambda: copying(progress_of(dataset.pk)), interval=0.01)
    worker.kill()
    killed = time.monotonic()

    # then none of the upload's incidents is visible, and the dataset is not done
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.RUNNING
    assert not Incident.objects.filter(agency=world.alpha).exists()

    # when a worker is there again (as a supervisor restarts it), the page says the import
    # was interrupted and is resuming, and it is done within a minute of the kill
    start_worker(**worker_env)
    client = world.client_for("anna")
    status_url = reverse("dataset-status", args=["alpha", dataset.pk])
    answer, shown = follow_status(client, status_url, lambda a: a["status"] == "done",
                                  timeout=120)
    seconds = time.monotonic() - killed
    print(f"\nimport ({'+'.join(redelivery) or 'defaults'}): done {seconds:.1f} s after the "
          f"kill; shown {shown}")
    assert INTERRUPTED in shown
    assert seconds <= 60

    # then every incident is there exactly once, the counts add up, and the import ran to
    # its end once: the killed attempt and one more
    dataset.refresh_from_db()
    assert (dataset.attempts, dataset.interruptions) == (2, 1)
    assert dataset.rows_read == 246_291
    stored = Incident.objects.filter(agency=world.alpha)
    assert stored.count() == dataset.imported > 100_000
    assert stored.values("source_id").distinct().count() == dataset.imported
    assert dataset.imported + dataset.duplicates + dataset.rejected + (
        dataset.summary["cancellations"]) == dataset.rows_read
    assert AccessEvent.objects.filter(action=Action.DATA_IMPORT, object_type="dataset",
                                      object_id=str(dataset.pk)).count() == 1
