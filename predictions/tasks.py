"""Celery tasks of the predictions app. Tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from predictions.importer import run_import


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_dataset(dataset_id: int) -> dict | None:
    """Import a stored upload, all or nothing (see predictions.importer)."""
    result = run_import(dataset_id)
    return result.as_dict() if result else None
