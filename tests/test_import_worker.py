"""A real worker killed in the middle of an import: nothing shows, the retry completes once."""

import time

import pytest

from predictions.models import Dataset, Incident
from predictions.uploads import do_upload
from tests.test_import import SLMPD_TAR
from tests.worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_killed_import_leaves_nothing_visible_and_the_retry_completes(world, start_worker):
    # given a worker that gives unacknowledged tasks back after 5 s, and all 60 SLMPD months
    worker = start_worker(CELERY_VISIBILITY_TIMEOUT="5", CELERY_RESTORE_INTERVAL="1")
    with open(SLMPD_TAR, "rb") as upload:
        dataset = do_upload(world.alpha, [(SLMPD_TAR.name, upload)], acting_user=world.anna)

    # when the worker is killed (SIGKILL) while it imports
    wait_for(lambda: Dataset.objects.get(pk=dataset.pk).status == Dataset.Status.RUNNING)
    time.sleep(1.5)
    worker.kill()

    # then none of the upload's incidents is visible, and the dataset is not done
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.RUNNING
    assert not Incident.objects.filter(agency=world.alpha).exists()

    # when another worker starts, the task comes back to it and completes
    start_worker(CELERY_VISIBILITY_TIMEOUT="5", CELERY_RESTORE_INTERVAL="1")
    wait_for(lambda: Dataset.objects.get(pk=dataset.pk).status == Dataset.Status.DONE,
             timeout=240, interval=1)

    # then every incident is there exactly once, and the counts add up
    dataset.refresh_from_db()
    assert dataset.attempts >= 2
    assert dataset.rows_read == 246_291
    stored = Incident.objects.filter(agency=world.alpha)
    assert stored.count() == dataset.imported > 100_000
    assert stored.values("source_id").distinct().count() == dataset.imported
    assert dataset.imported + dataset.duplicates + dataset.rejected + (
        dataset.summary["cancellations"]) == dataset.rows_read
