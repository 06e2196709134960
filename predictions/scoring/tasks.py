"""Celery tasks of the scoring room: one forecast's score, and the beat's round of them.

Both take ids and are safe to run twice (one score per forecast, written in one
transaction). A worker killed while scoring leaves nothing half written: its task comes
back from the broker, and the next round (``score_closed_forecasts``, hourly) queues every
closed forecast still without a score in any case."""

from __future__ import annotations

from celery import shared_task

from predictions.scoring.scoring import NotDue, due_forecast_ids, score_forecast


@shared_task
def score_one(forecast_id: int) -> int | None:
    """Score the forecast if it is due and has no score: the score's id (None: not due,
    or the forecast is gone)."""
    try:
        score = score_forecast(forecast_id)
    except NotDue:
        return None
    return score.pk if score else None


@shared_task
def score_closed_forecasts() -> int:
    """Celery beat, hourly: queue the score of every due forecast (closed, no score yet)."""
    ids = due_forecast_ids()
    for forecast_id in ids:
        score_one.delay(forecast_id)
    return len(ids)
