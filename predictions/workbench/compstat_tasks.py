"""Celery tasks of the workbench's CompStat reports (see predictions.workbench.compstat)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from celery import shared_task
from django.db import IntegrityError, transaction

from agencies.models import Agency
from predictions.jobs import beating, requeue_stalled, send_again
from predictions.models import CompStatReport
from predictions.workbench.compstat import last_complete_week, make_report


@shared_task
def compstat_report(report_id: int) -> int | None:
    """Count, render and store one CompStat report."""
    with beating():
        report = make_report(report_id)
    return report.pk if report else None


@shared_task
def weekly_compstat() -> list[int]:
    """Celery beat: the last complete week's report of every agency, made once."""
    return schedule_weekly()


@shared_task
def requeue_stalled_compstat() -> dict[str, list[int]]:
    """Celery beat: send again every report being made whose worker stopped beating."""
    return requeue_stalled(CompStatReport.objects.all(), send_again(compstat_report),
                           "CompStat report")


def schedule_weekly(now: datetime | None = None) -> list[int]:
    """The beat's round: the last complete week's report of every agency, once (the
    scheduled report of an agency's week is unique; a second round finds it made)."""
    made = []
    for agency in Agency.objects.all():
        week = last_complete_week(agency, now)
        try:
            with transaction.atomic():
                report, created = CompStatReport.objects.get_or_create(
                    agency=agency, week_start=week, scheduled=True)
                if created:
                    transaction.on_commit(partial(compstat_report.delay, report.pk))
                    made.append(report.pk)
        except IntegrityError:  # a concurrent round made it
            continue
    return made
