"""Reading an uploaded layer file into an AreaLayer: the work of the import_layer task.

The file's bytes wait in the LayerUpload row (never in a file on disk). The task claims the
row (committed: the page shows it running), parses and checks every geometry outside any
transaction, reporting progress on the row, then stores the layer, marks the upload done,
clears its bytes and writes the audit row in one transaction: a refused or failed upload
leaves no layer behind, and a second delivery of the task finds nothing to do. A worker
killed part-way leaves the row running with its bytes; the redelivered task starts again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

import audit
from audit.events import Action
from predictions.areas.suggestions import suggested_settings
from predictions.forecasting.fair_selection import DEFAULT_BAND
from predictions.ingest.errors import IngestRefused
from predictions.ingest.layers import LayerData, read_layer
from predictions.jobs import claim
from predictions.models import AreaLayer, LayerUpload

log = logging.getLogger(__name__)


class LayerRefused(ValueError):
    """The layer cannot be stored (its name was taken meanwhile...)."""


def run_layer_upload(upload_id: int) -> AreaLayer | None:
    """Read and store an uploaded layer; None when there is nothing to do or the file is
    refused (the upload row then says why)."""
    job = claim(LayerUpload.objects.all(), upload_id, running=LayerUpload.Status.RUNNING,
                skip=(LayerUpload.Status.DONE, LayerUpload.Status.FAILED))
    if job is None:
        return None
    started = time.perf_counter()
    try:
        data, job.data = bytes(job.data), b""  # one copy in memory while it is read
        if hashlib.sha256(data).hexdigest() != job.sha256:
            raise LayerRefused("the stored file does not match its digest; upload it again")
        parsed = read_layer(job.file_name, data, progress=partial(_progress, job))
        del data
        return _store(job, parsed, started)
    except (IngestRefused, LayerRefused) as exc:
        _fail(job, str(exc))
    except Exception as exc:  # never leave the upload running for ever, nor half-stored
        log.exception("layer upload %s failed", upload_id)
        _fail(job, f"Unexpected error while reading the layer ({type(exc).__name__}); "
                   "nothing was stored.")
    return None


def _progress(job: LayerUpload, percent: int) -> None:
    _attempt(job).update(progress=percent)


def _attempt(job: LayerUpload):
    """The upload's row while it still runs under this attempt."""
    return LayerUpload.objects.filter(pk=job.pk, status=LayerUpload.Status.RUNNING,
                                      attempts=job.attempts)


def _fail(job: LayerUpload, message: str) -> None:
    _attempt(job).update(status=LayerUpload.Status.FAILED, error_message=message[:2000],
                         data=b"", progress=0, finished_at=timezone.now())


def _store(job: LayerUpload, parsed: LayerData, started: float) -> AreaLayer | None:
    try:
        return _store_once(job, parsed, started)
    except IntegrityError as exc:  # the same name, stored by a concurrent upload
        raise LayerRefused(f"a layer named {job.name!r} was stored meanwhile: delete it or "
                           "upload under another name") from exc


def _store_once(job: LayerUpload, parsed: LayerData, started: float) -> AreaLayer | None:
    with transaction.atomic():
        if not _attempt(job).select_for_update().exists():
            return None  # another attempt took it over, or finished it
        if AreaLayer.objects.filter(agency_id=job.agency_id, name=job.name).exists():
            raise LayerRefused(f"a layer named {job.name!r} was stored meanwhile: delete it "
                               "or upload under another name")
        attrs = parsed.attribute_summary()
        suggested = suggested_settings(attrs) if parsed.kind == "polygons" else {}
        layer = AreaLayer.objects.create(
            agency_id=job.agency_id, name=job.name, kind=parsed.kind,
            file_name=job.file_name[:255], sha256=job.sha256,
            source_crs=parsed.source_crs[:200], n_features=len(parsed.geometries),
            attributes=attrs,
            geojson=parsed.geojson_text(),
            population_attribute=suggested.get("population_attribute", ""),
            groupings=suggested.get("groupings", []), fairness_band=list(DEFAULT_BAND),
            text_fields=parsed.text_summary(), label_field=parsed.label_field[:100],
            uploaded_by_id=job.uploaded_by_id,
        )
        summary = {"features": layer.n_features, "vertices": parsed.n_vertices,
                   "kind": layer.kind, "crs": layer.source_crs,
                   "attributes": len(attrs), "text_fields": len(parsed.texts),
                   "repaired": len(parsed.repairs), "repairs": parsed.repair_summary(),
                   "seconds": round(time.perf_counter() - started, 2)}
        _attempt(job).update(status=LayerUpload.Status.DONE, progress=100, layer=layer,
                             data=b"", summary=summary, finished_at=timezone.now())
        audit.record(action=Action.LAYER_UPLOAD, actor=job.uploaded_by, actor_role="system",
                     agency=job.agency, object_type="area_layer", object_id=layer.pk,
                     details={"name": layer.name, "file": job.file_name, "upload": job.pk,
                              "features": layer.n_features, "kind": layer.kind,
                              "crs": layer.source_crs, "repaired": len(parsed.repairs)})
    return layer
