"""Area layers of an agency: upload, settings, and their use as covariates and fairness groups.

State changes are ``do_*`` functions that write their audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from shapely.geometry import shape

import audit
from agencies.access import role_of
from agencies.models import Agency
from predictions.forecasting import Grid
from predictions.forecasting.areal import area_weights, point_covariates, polygon_covariates
from predictions.forecasting.fair_selection import DEFAULT_BAND
from predictions.forecasting.fairness import (
    Groups,
    groups_from_layer,
    majority_labels,
    quantile_labels,
)
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
    audit.record(action="layer.upload", actor=acting_user,
                 actor_role=role_of(acting_user, agency), agency=agency,
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
                    groupings: list[dict[str, Any]], band: list[float]) -> AreaLayer:
    validate_settings(layer, population_attribute=population_attribute, groupings=groupings,
                      band=band, use_for_fairness=use_for_fairness)
    if use_for_fairness:
        AreaLayer.objects.filter(agency=layer.agency, use_for_fairness=True).exclude(
            pk=layer.pk).update(use_for_fairness=False)
    layer.use_as_covariates = use_as_covariates
    layer.use_for_fairness = use_for_fairness
    layer.population_attribute = population_attribute
    layer.groupings = groupings
    layer.fairness_band = [float(band[0]), float(band[1])]
    try:
        layer.save()
    except IntegrityError as exc:  # another layer became the fairness layer concurrently
        raise LayerError("Another layer is already used for fairness.") from exc
    audit.record(action="layer.update", actor=acting_user,
                 actor_role=role_of(acting_user, layer.agency), agency=layer.agency,
                 object_type="area_layer", object_id=layer.pk,
                 details={"covariates": use_as_covariates, "fairness": use_for_fairness,
                          "population": population_attribute, "groupings": groupings,
                          "band": layer.fairness_band})
    return layer


@transaction.atomic
def do_delete_layer(layer: AreaLayer, *, acting_user) -> None:
    audit.record(action="layer.delete", actor=acting_user,
                 actor_role=role_of(acting_user, layer.agency), agency=layer.agency,
                 object_type="area_layer", object_id=layer.pk, details={"name": layer.name})
    layer.delete()


# the engine's view of layers ---------------------------------------------------------------
@dataclass
class LayerArrays:
    geometries: list
    attributes: dict[str, np.ndarray]


def layer_arrays(layer: AreaLayer) -> LayerArrays:
    doc = json.loads(layer.geojson)
    feats = doc["features"]
    attrs = {name: np.array([np.nan if f["properties"].get(name) is None
                             else f["properties"][name] for f in feats], float)
             for name in layer.attributes}
    return LayerArrays([shape(f["geometry"]) for f in feats], attrs)


def covariates_for(agency: Agency, grid: Grid) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Covariate matrix (full grid) from the agency's covariate layers, or (None, ())."""
    blocks, names = [], []
    for layer in AreaLayer.objects.filter(agency=agency, use_as_covariates=True).order_by("pk"):
        arrays = layer_arrays(layer)
        if layer.kind == AreaLayer.Kind.POINTS:
            pts = [g.centroid for g in arrays.geometries]
            block, cols = point_covariates(grid, np.array([p.x for p in pts]),
                                           np.array([p.y for p in pts]))
        else:
            usable = {k: v for k, v in arrays.attributes.items() if not k.endswith("_moe")}
            kinds = {k: layer.attributes[k]["kind"] for k in usable}
            block, cols = polygon_covariates(area_weights(grid, arrays.geometries), usable,
                                             kinds)
        blocks.append(block)
        names += [f"{_slug(layer.name)}_{c}" for c in cols]
    if not blocks:
        return None, ()
    return np.column_stack(blocks), tuple(names)


def fairness_layer(agency: Agency) -> AreaLayer | None:
    return AreaLayer.objects.filter(agency=agency, use_for_fairness=True).first()


def groupings_for(layer: AreaLayer, grid: Grid) -> list[tuple[str, Groups]]:
    """Each configured grouping of the fairness layer as engine ``Groups`` on ``grid``."""
    arrays = layer_arrays(layer)
    weights = area_weights(grid, arrays.geometries)
    pop = arrays.attributes[layer.population_attribute]
    out = []
    for g in layer.groupings:
        if g["kind"] == "majority":
            counts = np.column_stack([arrays.attributes[c] for c in g["columns"]])
            labels = majority_labels(counts, [_pretty(c) for c in g["columns"]])
        else:
            q = int(g.get("q", 5))
            word = {4: "quartile", 5: "quintile", 10: "decile"}.get(q, "group")
            labels = quantile_labels(arrays.attributes[g["attribute"]], pop, q,
                                     label=f"{_pretty(g['attribute'])} {word}")
        out.append((g["name"], groups_from_layer(weights, labels, pop)))
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")[:30]


PRETTY = {"nh_white": "White (non-Hispanic)", "nh_black": "Black (non-Hispanic)",
          "hispanic": "Hispanic", "nh_asian": "Asian (non-Hispanic)",
          "poverty_rate": "poverty rate", "median_hh_income": "median income"}


def _pretty(name: str) -> str:
    return PRETTY.get(name, name.replace("_", " "))
