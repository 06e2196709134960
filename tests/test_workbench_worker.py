"""The workbench's tasks on a real Celery worker and broker (issue #22): a near-repeat
analysis reports its progress as it permutes and ends once, also when a second delivery of
its task comes; a worker killed while permuting leaves the analysis running, and the
redelivered task finishes it once; a CompStat report is made with its PDF."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from django.urls import reverse

from audit.events import Action
from audit.models import AccessEvent
from predictions.models import CompStatReport, KnoxRun
from predictions.workbench.knox_tasks import knox_test
from predictions.workbench.stats_actions import do_request_compstat, do_start_knox
from tests.workbench_samples import IN_NORTH, Incidents
from tests.worker import follow_status, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def dense_year(agency, n: int = 3000) -> None:
    """`n` burglaries over a 3 x 3 km square in 2024: some 400,000 pairs within 500 m, so
    that 999 permutations take seconds."""
    rng = np.random.default_rng(5)
    incidents = Incidents(agency)
    lon = -90.30 + rng.uniform(0, 0.0345, n)
    lat = 38.60 + rng.uniform(0, 0.027, n)
    first = np.datetime64("2024-01-01")
    for x, y, d in zip(lon, lat, rng.integers(0, 366, n), strict=True):
        incidents.add((first + np.timedelta64(int(d), "D")).astype(date), (float(x), float(y)))


def start(world, permutations: int = 999) -> KnoxRun:
    return do_start_knox(world.alpha, category="burglary", start=date(2024, 1, 1),
                         end=date(2024, 12, 31), distance_bands=[0, 100, 200, 300, 400, 500],
                         time_bands=[7, 14, 21, 28, 42, 56], permutations=permutations,
                         seed=0, acting_user=world.anna)


def test_a_worker_runs_a_near_repeat_analysis_with_its_progress_once(world, start_worker):
    dense_year(world.alpha, n=2000)
    start_worker()
    run = start(world)
    knox_test.delay(run.pk)  # a second delivery of the same task

    client = world.client_for("anna")
    answer, shown = follow_status(
        client, reverse("workbench-knox-status", args=["alpha", run.pk]),
        lambda a: a["status"] in ("done", "failed"), timeout=180, interval=0.05)
    run.refresh_from_db()

    assert answer["status"] == "done", answer["error"]
    assert "Permuting" in shown
    assert run.attempts == 1 and run.result["n_events"] == 2000
    assert AccessEvent.objects.filter(action=Action.KNOX_RUN).count() == 1
    print(f"2000 burglaries, {run.result['n_close_pairs']:,} pairs within 500 m, 999 "
          f"permutations: {run.result['seconds']} s; statuses shown {shown}")


def test_it_shows_progress_between_the_start_and_the_end(world, start_worker):
    dense_year(world.alpha, n=2000)
    start_worker()
    run = start(world)

    values: list[int] = []

    def finished() -> bool:
        row = KnoxRun.objects.values("status", "progress").get(pk=run.pk)
        values.append(row["progress"])
        return row["status"] in ("done", "failed")

    wait_for(finished, timeout=180, interval=0.02)

    assert KnoxRun.objects.get(pk=run.pk).status == "done"
    assert any(0 < v < 100 for v in values), values


def test_a_worker_killed_while_permuting_leaves_it_running_and_the_retry_ends_it_once(
        world, start_worker):
    env = {"CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_RESTORE_INTERVAL": "1",
           "JOB_HEARTBEAT_SECONDS": "1", "JOB_HEARTBEAT_STALE_SECONDS": "3"}
    dense_year(world.alpha, n=4000)
    worker = start_worker(**env)
    run = start(world)

    wait_for(lambda: KnoxRun.objects.filter(pk=run.pk, status="running",
                                            progress__gte=20).exists(),
             timeout=180, interval=0.02)
    worker.kill()
    run.refresh_from_db()
    assert run.status == "running" and run.result == {}

    start_worker(**env)
    wait_for(lambda: KnoxRun.objects.filter(pk=run.pk, status__in=("done", "failed")).exists(),
             timeout=240, interval=0.5)
    run.refresh_from_db()
    assert run.status == "done" and run.attempts >= 2
    assert AccessEvent.objects.filter(action=Action.KNOX_RUN).count() == 1


def test_a_worker_makes_a_compstat_report_with_its_pdf(world, start_worker):
    Incidents(world.alpha).add(date(2024, 3, 5), IN_NORTH, count=3)
    start_worker()

    report = do_request_compstat(world.alpha, week_start=date(2024, 3, 4),
                                 acting_user=world.anna)
    wait_for(lambda: CompStatReport.objects.filter(pk=report.pk,
                                                   status__in=("done", "failed")).exists(),
             timeout=120, interval=0.2)

    report.refresh_from_db()
    assert report.status == "done", report.error_message
    assert report.data["categories"]["total"]["week"] == 3
    assert bytes(report.pdf).startswith(b"%PDF-")
