"""Celery tasks of the modelling room: one training run, and resuming runs whose worker was
lost."""

from __future__ import annotations

from celery import shared_task

from predictions.jobs import beating, requeue_stalled, send_again
from predictions.modelling.training import run_training
from predictions.models import TrainingRun


@shared_task
def train_model(run_id: int) -> int | None:
    """Backtest, fit and store one training run, then write its first forecast."""
    with beating():
        run = run_training(run_id)
    return run.pk if run else None


@shared_task
def requeue_stalled_runs() -> dict[str, list[int]]:
    """Celery beat: send again every running training run whose worker stopped beating (see
    predictions.jobs); the third interrupted attempt fails it."""
    return requeue_stalled(TrainingRun.objects.all(), send_again(train_model), "training run")
