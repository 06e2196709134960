"""Celery tasks of the predictions app. Tasks take ids and are safe to run twice."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from predictions.importer import ImportBusy, run_import
from predictions.training import (
    generate_forecast,
    purge_expired_forecasts,
    regenerate_all,
    run_training,
)


@shared_task(bind=True, max_retries=60)
def import_dataset(self, dataset_id: int) -> dict | None:
    """Import a stored upload, all or nothing (see predictions.importer)."""
    try:
        result = run_import(dataset_id)
    except ImportBusy as exc:  # a second delivery while the first still runs
        raise self.retry(exc=exc, countdown=15) from exc
    return result.as_dict() if result else None


@shared_task
def train_model(run_id: int) -> int | None:
    """Backtest, fit and store one training run, then write its first forecast."""
    run = run_training(run_id)
    return run.pk if run else None


@shared_task
def make_forecast(model_id: int, window_start: str) -> int | None:
    forecast = generate_forecast(model_id, date.fromisoformat(window_start))
    return forecast.pk if forecast else None


@shared_task
def regenerate_forecasts() -> int:
    """Celery beat, daily: delete forecasts past retention, then today's forecast for every
    active model."""
    purge_expired_forecasts()
    return regenerate_all()
