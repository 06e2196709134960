"""Celery tasks of the workbench's CompStat reports (see predictions.workbench.compstat)."""

from __future__ import annotations

from celery import shared_task

from predictions.jobs import beating, requeue_stalled, send_again
from predictions.models import CompStatReport
from predictions.workbench.compstat import make_report, schedule_weekly


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
