"""Celery tasks of the incidents room: importing a stored upload, and resuming imports whose
worker was lost."""

from __future__ import annotations

from celery import shared_task

from predictions.incidents.importer import ImportBusy, run_import
from predictions.jobs import beating, requeue_stalled, send_again
from predictions.models import Dataset


@shared_task(bind=True, max_retries=60)
def import_dataset(self, dataset_id: int) -> dict | None:
    """Import a stored upload, all or nothing (see predictions.incidents.importer)."""
    with beating():
        try:
            result = run_import(dataset_id)
        except ImportBusy as exc:  # a second delivery while the first still runs
            raise self.retry(exc=exc, countdown=15) from exc
    return result.as_dict() if result else None


@shared_task
def requeue_stalled_imports() -> dict[str, list[int]]:
    """Celery beat: send again the import of every running dataset whose worker stopped
    beating (see predictions.jobs); the third interrupted attempt fails it."""
    return requeue_stalled(Dataset.objects.all(), send_again(import_dataset), "import")
