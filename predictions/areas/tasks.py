"""Celery tasks of the areas room: reading an uploaded layer file, and resuming reads whose
worker was lost."""

from __future__ import annotations

from celery import shared_task

from predictions.areas.uploads import run_layer_upload
from predictions.jobs import beating, requeue_stalled, send_again
from predictions.models import LayerUpload


@shared_task
def import_layer(upload_id: int) -> int | None:
    """Read a stored layer upload into an area layer, all or nothing (see
    predictions.areas.uploads); the new layer's id, None when refused or already done."""
    with beating():
        layer = run_layer_upload(upload_id)
    return layer.pk if layer else None


@shared_task
def requeue_stalled_layers() -> dict[str, list[int]]:
    """Celery beat: send again the reading of every running layer upload whose worker
    stopped beating (see predictions.jobs); the third interrupted attempt fails it."""
    return requeue_stalled(LayerUpload.objects.all(), send_again(import_layer), "layer upload")
