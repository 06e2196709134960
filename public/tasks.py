"""Celery tasks of the public app. They take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from public.publish import publish_all


@shared_task
def publish_releases(agency_id: int | None = None) -> list[dict]:
    """Celery beat, daily: publish every due month of every opted-in agency (idempotent)."""
    return publish_all(agency_id)
