"""Celery task of the modelling room: one training run."""

from __future__ import annotations

from celery import shared_task

from predictions.modelling.training import run_training


@shared_task
def train_model(run_id: int) -> int | None:
    """Backtest, fit and store one training run, then write its first forecast."""
    run = run_training(run_id)
    return run.pk if run else None
