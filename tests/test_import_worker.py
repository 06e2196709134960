"""A real worker killed in the middle of an import: nothing shows, the retry completes once."""

import pytest

from predictions.incidents.actions import do_upload
from predictions.incidents.importer import forget_progress, progress_of
from predictions.models import Dataset, Incident
from tests.test_import import SLMPD_TAR
from tests.worker import share_cache_with_workers, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def copying(progress: dict | None, rows: int = 50_000) -> bool:
    """At least ``rows`` rows read and copied into the import's uncommitted transaction,
    and more to read (of 246,291)."""
    return bool(progress) and progress["phase"] == "reading" and progress["rows_read"] >= rows


def test_a_killed_import_leaves_nothing_visible_and_the_retry_completes(world, start_worker,
                                                                        settings):
    # given all 60 SLMPD months waiting for a worker that gives unacknowledged tasks back
    # after 5 s and reports its progress where this test can read it
    cache_url = share_cache_with_workers(settings)
    with open(SLMPD_TAR, "rb") as upload:
        dataset = do_upload(world.alpha, [(SLMPD_TAR.name, upload)], acting_user=world.anna)
    forget_progress(dataset.pk)  # an earlier run's, under the same id
    worker_env = {"CACHE_URL": cache_url, "CELERY_VISIBILITY_TIMEOUT": "5",
                  "CELERY_RESTORE_INTERVAL": "1"}
    worker = start_worker(**worker_env)

    # when the worker is killed (SIGKILL) a fifth of the way through the rows
    wait_for(lambda: copying(progress_of(dataset.pk)), interval=0.01)
    worker.kill()

    # then none of the upload's incidents is visible, and the dataset is not done
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.RUNNING
    assert not Incident.objects.filter(agency=world.alpha).exists()

    # when another worker starts, the task comes back to it and completes
    start_worker(**worker_env)
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
