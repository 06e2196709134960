"""Claiming a background job's row: the first, committed step of every task run."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone


def claim(rows: QuerySet, pk: int, *, running: str, skip: tuple[str, ...]):
    """Lock the row, and unless its status is in `skip` mark it running (a new attempt) and
    commit, so that pages show it; None when there is nothing to do."""
    with transaction.atomic():
        job = rows.select_for_update().filter(pk=pk).first()
        if job is None or job.status in skip:
            return None
        job.status, job.started_at, job.attempts = running, timezone.now(), job.attempts + 1
        job.error_message = ""
        job.save(update_fields=["status", "started_at", "attempts", "error_message"])
        return job
