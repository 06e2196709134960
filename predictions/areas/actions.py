"""Area layers of an agency: upload, settings, and their use as covariates and fairness groups.

State changes are ``do_*`` functions that write their audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction

from agencies.models import Agency
from agencies.recording import record_action
from audit.events import Action
from predictions.forecasting.fair_selection import DEFAULT_BAND
from predictions.ingest.errors import IngestRefused
from predictions.ingest.layers import read_layer
from predictions.models import AreaLayer

MAX_LAYER_BYTES = 64 * 1024**2
RACE_COLUMNS = ("nh_white", "nh_black", "hispanic", "nh_asian")
POPULATION_NAMES = ("total_pop", "population", "pop", "pop_total", "residents")
QUANTILE_CANDIDATES = (("poverty_rate", "Poverty rate quintile"),
                       ("median_hh_income", "Median household income quintile"))
BAND_LIMITS = (0.5, 2.0)


class LayerError(ValueError):
    """A layer upload or setting is refused; nothing was changed."""


def suggested_settings(attributes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Population attribute and groupings guessed from common census attribute names."""
    names = set(attributes)
    population = next((n for n in POPULATION_NAMES if n in names), "")
    groupings: list[dict[str, Any]] = []
    race = [c for c in RACE_COLUMNS if c in names]
    if len(race) >= 2:
        groupings.append({"name": "Majority race/ethnicity of residents", "kind": "majority",
                          "columns": race})
    for attr, label in QUANTILE_CANDIDATES:
        if attr in names:
            groupings.append({"name": label, "kind": "quantile", "attribute": attr, "q": 5})
    return {"population_attribute": population, "groupings": groupings}


@transaction.atomic
def do_upload_layer(agency: Agency, *, name: str, file_name: str, data: bytes,
                    acting_user) -> AreaLayer:
    """Store a parsed layer (GeoJSON or zipped shapefile). Raises LayerError."""
    name = (name or file_name).strip()[:100]
    if len(data) > MAX_LAYER_BYTES:
        raise LayerError(f"{file_name} is larger than {MAX_LAYER_BYTES // 1024**2} MB.")
    if AreaLayer.objects.filter(agency=agency, name=name).exists():
        raise LayerError(f"A layer named {name!r} already exists: delete it or pick a name.")
    try:
        parsed = read_layer(file_name, data)
    except IngestRefused as exc:
        raise LayerError(str(exc)) from exc
    attrs = parsed.attribute_summary()
    suggested = suggested_settings(attrs) if parsed.kind == "polygons" else {}
    layer = AreaLayer.objects.create(
        agency=agency, name=name, kind=parsed.kind, file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(), source_crs=parsed.source_crs[:200],
        n_features=len(parsed.geometries), attributes=attrs,
        geojson=json.dumps(parsed.feature_collection(), separators=(",", ":")),
        population_attribute=suggested.get("population_attribute", ""),
        groupings=suggested.get("groupings", []), fairness_band=list(DEFAULT_BAND),
        uploaded_by=acting_user,
    )
    record_action(Action.LAYER_UPLOAD, acting_user=acting_user, agency=agency,
                  object_type="area_layer", object_id=layer.pk,
                  details={"name": name, "file": file_name, "features": layer.n_features,
                           "kind": layer.kind, "crs": layer.source_crs})
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
                    use_as_reference: bool = False) -> AreaLayer:
    validate_settings(layer, population_attribute=population_attribute, groupings=groupings,
                      band=band, use_for_fairness=use_for_fairness)
    if use_as_reference and layer.kind != AreaLayer.Kind.POLYGONS:
        raise LayerError("The reference layer names areas: it must hold polygons.")
    if use_for_fairness:
        AreaLayer.objects.filter(agency=layer.agency, use_for_fairness=True).exclude(
            pk=layer.pk).update(use_for_fairness=False)
    if use_as_reference:
        AreaLayer.objects.filter(agency=layer.agency, use_as_reference=True).exclude(
            pk=layer.pk).update(use_as_reference=False)
    layer.use_as_reference = use_as_reference
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
                           "reference": use_as_reference,
                           "population": population_attribute, "groupings": groupings,
                           "band": layer.fairness_band})
    return layer


@transaction.atomic
def do_delete_layer(layer: AreaLayer, *, acting_user) -> None:
    record_action(Action.LAYER_DELETE, acting_user=acting_user, agency=layer.agency,
                  object_type="area_layer", object_id=layer.pk, details={"name": layer.name})
    layer.delete()
