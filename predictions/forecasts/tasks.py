"""Celery tasks of the forecasts room: one forecast, and the daily round of them."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from celery import shared_task
from django.utils import timezone

from predictions.forecasts.generation import generate_forecast, purge_expired_forecasts
from predictions.models import ForecastModel


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


def regenerate_all(today: date | None = None) -> int:
    """Queue today's forecast (in each agency's time zone) for every active, trained model."""
    queued = 0
    for model in ForecastModel.objects.filter(active=True, runs__status="done").distinct():
        zone = ZoneInfo(model.agency.timezone)
        local_today = today or timezone.now().astimezone(zone).date()
        make_forecast.delay(model.pk, local_today.isoformat())
        queued += 1
    return queued
