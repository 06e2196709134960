"""Celery task of the incidents room: importing a stored upload."""

from __future__ import annotations

from celery import shared_task

from predictions.incidents.importer import ImportBusy, run_import


@shared_task(bind=True, max_retries=60)
def import_dataset(self, dataset_id: int) -> dict | None:
    """Import a stored upload, all or nothing (see predictions.incidents.importer)."""
    try:
        result = run_import(dataset_id)
    except ImportBusy as exc:  # a second delivery while the first still runs
        raise self.retry(exc=exc, countdown=15) from exc
    return result.as_dict() if result else None
