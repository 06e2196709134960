"""Layer uploads on a real Celery worker and broker (issue #19): the St. Louis layers are
read once each, a bad file is refused with its reason, and a worker killed while reading a
large layer leaves nothing stored and no file; the redelivered task finishes it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from predictions.areas.actions import do_start_layer_upload
from predictions.areas.tasks import import_layer
from predictions.models import AreaLayer, LayerUpload
from tests.worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GEO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stl" / "geo"
FINISHED = (LayerUpload.Status.DONE, LayerUpload.Status.FAILED)


def stored_files() -> set[Path]:
    root = Path(settings.UPLOAD_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def finished(*jobs: LayerUpload) -> bool:
    return LayerUpload.objects.filter(pk__in=[j.pk for j in jobs],
                                      status__in=FINISHED).count() == len(jobs)


def test_a_real_worker_reads_the_st_louis_layers_once_and_refuses_a_bad_file(
        world, start_worker):
    paths = [GEO / "stl_neighborhoods.geojson", GEO / "stl_tracts_demographics.geojson"]
    if not all(p.exists() for p in paths):
        pytest.skip("needs ../shared/data (St. Louis)")
    start_worker()
    jobs = [do_start_layer_upload(world.alpha, name=p.stem, file_name=p.name,
                                  data=p.read_bytes(), acting_user=world.anna) for p in paths]
    import_layer.delay(jobs[0].pk)  # a second delivery of the same task
    unclosed = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [[[-90.2, 38.6], [-90.2, 38.61],
                                                                 [-90.19, 38.61]] * 2]}}]}
    bad = do_start_layer_upload(world.alpha, name="Bad", file_name="bad.geojson",
                                data=json.dumps(unclosed).encode(), acting_user=world.anna)

    wait_for(lambda: finished(*jobs, bad), timeout=120, interval=0.5)

    for job, features in zip(jobs, (88, 106), strict=True):
        job.refresh_from_db()
        assert job.status == "done", job.error_message
        assert job.layer.n_features == features and bytes(job.data) == b""
        assert job.attempts == 1 and job.summary["repaired"] == 0
        took = (job.finished_at - job.started_at).total_seconds()
        print(f"{job.file_name}: {job.size_bytes:,} bytes, {job.summary['features']} "
              f"features, {job.summary['vertices']:,} vertices: read in "
              f"{job.summary['seconds']} s, stored {took:.2f} s after its claim")
    assert AreaLayer.objects.filter(agency=world.alpha).count() == 2
    bad.refresh_from_db()
    assert bad.status == "failed" and "feature 1: ring 1 is not closed" in bad.error_message
    assert bytes(bad.data) == b""


def circles(n: int, vertices: int) -> bytes:
    """``n`` valid round areas of ``vertices`` positions each, near St. Louis."""
    angles = np.linspace(0, 2 * np.pi, vertices)
    features = []
    for i in range(n):
        x, y = -90.4 + (i % 100) * 0.003, 38.5 + (i // 100) * 0.003
        ring = np.round(np.c_[x + 0.001 * np.cos(angles), y + 0.001 * np.sin(angles)], 6)
        ring[-1] = ring[0]
        features.append({"type": "Feature", "properties": {"name": f"Area {i}"},
                         "geometry": {"type": "Polygon", "coordinates": [ring.tolist()]}})
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_a_worker_killed_while_reading_a_layer_leaves_nothing_and_the_retry_finishes(
        world, start_worker):
    # a worker that gets unacknowledged tasks back after 5 s, whose silent jobs are stale
    # after 3 s (so the redelivered task takes the killed attempt's row over)
    env = {"CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_RESTORE_INTERVAL": "1",
           "JOB_HEARTBEAT_SECONDS": "1", "JOB_HEARTBEAT_STALE_SECONDS": "3"}
    data = circles(8_000, 100)  # 800,000 vertices, about 20 MB: several seconds to read
    before = stored_files()
    worker = start_worker(**env)
    job = do_start_layer_upload(world.alpha, name="Circles", file_name="circles.geojson",
                                data=data, acting_user=world.anna)

    # when the worker is killed (SIGKILL) once it has parsed the JSON
    wait_for(lambda: LayerUpload.objects.filter(pk=job.pk, status="running",
                                                progress__gte=20).exists(),
             timeout=120, interval=0.05)
    worker.kill()

    # then nothing is stored, the file waits in the row and nowhere else
    job.refresh_from_db()
    assert job.status == "running" and job.progress < 100
    assert bytes(job.data) == data and not AreaLayer.objects.exists()
    assert stored_files() == before

    # when another worker starts, the task comes back to it and completes once
    start_worker(**env)
    wait_for(lambda: finished(job), timeout=240, interval=0.5)
    job.refresh_from_db()
    assert job.status == "done", job.error_message
    assert job.attempts >= 2 and bytes(job.data) == b""
    assert AreaLayer.objects.get().n_features == 8_000 and stored_files() == before
    print(f"{len(data):,} bytes, 800,000 vertices: read in {job.summary['seconds']} s")
