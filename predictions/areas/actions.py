"""Area layers of an agency: upload, settings, and their use as covariates and fairness groups.

State changes are ``do_*`` functions that write their audit row in the same transaction.
An upload is stored (``do_start_layer_upload``) and read by a task (``import_layer``, see
``predictions.areas.uploads``); ``do_upload_layer`` does both in-process.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction

from agencies.models import Agency
from agencies.recording import record_action
from audit.events import Action
from predictions.areas.suggestions import suggested_settings as suggested_settings
from predictions.areas.tasks import import_layer
from predictions.areas.uploads import run_layer_upload
from predictions.ingest.layers import MAX_BYTES
from predictions.models import AreaLayer, LayerUpload

MAX_LAYER_BYTES = MAX_BYTES
BAND_LIMITS = (0.5, 2.0)


class LayerError(ValueError):
    """A layer upload or setting is refused; nothing was changed."""


@transaction.atomic
def do_start_layer_upload(agency: Agency, *, name: str, file_name: str, data: bytes,
                          acting_user, queue: bool = True) -> LayerUpload:
    """Store an uploaded layer file (GeoJSON or zipped shapefile) and queue the task that
    reads it (on commit). Raises LayerError, storing nothing, for a file too large or empty
    or a name already taken."""
    file_name = (file_name or "layer").strip()[:255]
    name = (name or file_name).strip()[:100]
    if len(data) > MAX_LAYER_BYTES:
        raise LayerError(f"{file_name} is larger than {MAX_LAYER_BYTES // 1024**2} MB.")
    if not data:
        raise LayerError(f"{file_name} is empty.")
    if AreaLayer.objects.filter(agency=agency, name=name).exists():
        raise LayerError(f"A layer named {name!r} already exists: delete it or pick a name.")
    waiting = LayerUpload.objects.filter(
        agency=agency, name=name,
        status__in=(LayerUpload.Status.PENDING, LayerUpload.Status.RUNNING))
    if waiting.exists():
        raise LayerError(f"A layer named {name!r} is being read: wait for it, or pick a name.")
    digest = hashlib.sha256(data).hexdigest()
    upload = LayerUpload.objects.create(agency=agency, name=name, file_name=file_name,
                                        size_bytes=len(data), sha256=digest, data=data,
                                        uploaded_by=acting_user)
    record_action(Action.LAYER_IMPORT_START, acting_user=acting_user, agency=agency,
                  object_type="layer_upload", object_id=upload.pk,
                  details={"name": name, "file": file_name, "bytes": len(data),
                           "sha256": digest})
    if queue:
        transaction.on_commit(lambda: queue_layer_upload(upload.pk))
    return upload


def queue_layer_upload(upload_id: int) -> None:
    import_layer.delay(upload_id)


@transaction.atomic
def do_upload_layer(agency: Agency, *, name: str, file_name: str, data: bytes,
                    acting_user) -> AreaLayer:
    """Store and read a layer file here and now (command line, demo data). Raises
    LayerError, storing nothing, when the file is refused."""
    upload = do_start_layer_upload(agency, name=name, file_name=file_name, data=data,
                                   acting_user=acting_user, queue=False)
    layer = run_layer_upload(upload.pk)
    if layer is None:
        upload.refresh_from_db(fields=["error_message"])
        raise LayerError(upload.error_message or "The layer was not stored.")
    return layer


def validate_settings(layer: AreaLayer, *, population_attribute: str,
                      groupings: list[dict[str, Any]], band: list[float],
                      use_for_fairness: bool) -> None:
    """Raise LayerError unless the settings fit the layer's attributes."""
    attrs = layer.attributes
    if population_attribute and population_attribute not in attrs:
        raise LayerError(f"Unknown population attribute {population_attribute!r}.")
    if use_for_fairness:
        if layer.kind != AreaLayer.Kind.POLYGONS:
            raise LayerError("Only a polygon layer can define groups of residents.")
        if not population_attribute:
            raise LayerError("Fairness needs the attribute that counts residents.")
        if not groupings:
            raise LayerError("Fairness needs at least one grouping.")
    if not isinstance(groupings, list):
        raise LayerError("Groupings must be a list.")
    for g in groupings:
        if not isinstance(g, dict) or not str(g.get("name", "")).strip():
            raise LayerError("Every grouping needs a name.")
        if g.get("kind") == "majority":
            cols = g.get("columns")
            if not isinstance(cols, list) or len(cols) < 2:
                raise LayerError(f"{g['name']}: a majority grouping needs 2+ columns.")
            unknown = [c for c in cols if c not in attrs]
            if unknown:
                raise LayerError(f"{g['name']}: unknown columns {', '.join(map(str, unknown))}.")
        elif g.get("kind") == "quantile":
            if g.get("attribute") not in attrs:
                raise LayerError(f"{g['name']}: unknown attribute {g.get('attribute')!r}.")
            if not isinstance(g.get("q", 5), int) or not 2 <= g.get("q", 5) <= 10:
                raise LayerError(f"{g['name']}: q must be a whole number from 2 to 10.")
        else:
            raise LayerError(f"{g['name']}: kind must be 'majority' or 'quantile'.")
    if (not isinstance(band, list | tuple) or len(band) != 2
            or not all(isinstance(b, int | float) for b in band)
            or not BAND_LIMITS[0] <= band[0] <= 1 <= band[1] <= BAND_LIMITS[1]):
        raise LayerError(f"The band must be [low, high] with {BAND_LIMITS[0]} <= low <= 1 "
                         f"<= high <= {BAND_LIMITS[1]}.")


@transaction.atomic
def do_update_layer(layer: AreaLayer, *, acting_user, use_as_covariates: bool,
                    use_for_fairness: bool, population_attribute: str,
                    groupings: list[dict[str, Any]], band: list[float],
                    use_as_reference: bool = False, name_field: str | None = None) -> AreaLayer:
    """Change a layer's use. ``name_field``: the text column naming its areas ("" for the
    default names); None leaves it as it is."""
    validate_settings(layer, population_attribute=population_attribute, groupings=groupings,
                      band=band, use_for_fairness=use_for_fairness)
    if use_as_reference and layer.kind != AreaLayer.Kind.POLYGONS:
        raise LayerError("The reference layer names areas: it must hold polygons.")
    if name_field is None:
        name_field = layer.name_field
    candidates = [f["name"] for f in layer.text_fields]
    if name_field and name_field not in candidates:
        raise LayerError(f"Unknown name field {name_field!r}: choose one of "
                         f"{', '.join(candidates) or 'none (this layer kept no text column)'}.")
    if use_for_fairness:
        AreaLayer.objects.filter(agency=layer.agency, use_for_fairness=True).exclude(
            pk=layer.pk).update(use_for_fairness=False)
    if use_as_reference:
        AreaLayer.objects.filter(agency=layer.agency, use_as_reference=True).exclude(
            pk=layer.pk).update(use_as_reference=False)
    layer.use_as_reference = use_as_reference
    layer.name_field = name_field
    layer.use_as_covariates = use_as_covariates
    layer.use_for_fairness = use_for_fairness
    layer.population_attribute = population_attribute
    layer.groupings = groupings
    layer.fairness_band = [float(band[0]), float(band[1])]
    try:
        layer.save()
    except IntegrityError as exc:  # another layer became the fairness layer concurrently
        raise LayerError("Another layer became the fairness or reference layer meanwhile.") \
            from exc
    record_action(Action.LAYER_UPDATE, acting_user=acting_user, agency=layer.agency,
                  object_type="area_layer", object_id=layer.pk,
                  details={"covariates": use_as_covariates, "fairness": use_for_fairness,
                           "reference": use_as_reference, "name_field": name_field,
                           "population": population_attribute, "groupings": groupings,
                           "band": layer.fairness_band})
    return layer


@transaction.atomic
def do_delete_layer(layer: AreaLayer, *, acting_user) -> None:
    record_action(Action.LAYER_DELETE, acting_user=acting_user, agency=layer.agency,
                  object_type="area_layer", object_id=layer.pk, details={"name": layer.name})
    layer.delete()
