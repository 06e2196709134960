"""Celery tasks of the workbench's near-repeat analyses (see predictions.workbench.knox)."""

from __future__ import annotations

from celery import shared_task

from predictions.jobs import beating, requeue_stalled, send_again
from predictions.models import KnoxRun
from predictions.workbench.knox import run_knox_job


@shared_task
def knox_test(run_id: int) -> int | None:
    """Run one near-repeat analysis; its id when done, None when there was nothing to do."""
    with beating():
        run = run_knox_job(run_id)
    return run.pk if run else None


@shared_task
def requeue_stalled_knox() -> dict[str, list[int]]:
    """Celery beat: send again every running analysis whose worker stopped beating."""
    return requeue_stalled(KnoxRun.objects.all(), send_again(knox_test), "near-repeat analysis")
