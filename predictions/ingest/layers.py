"""Area layers: GeoJSON or a zipped shapefile in any CRS -> lon/lat features + numeric attributes.

Polygons (census tracts, neighbourhoods) or points (places). Only numeric attributes are kept
(plus a text ``label``); invalid rings are repaired with ``shapely.make_valid``.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapefile
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from .containers import Limits, iter_members
from .errors import IngestRefused
from .geo import parse_crs, transformer_for
from .shapefiles import open_shapefile

MAX_FEATURES = 50_000
LABEL_FIELDS = ("name", "label", "namelsad", "nhd_name", "title")
RATE_NAME = re.compile(r"(^|_)(pct|percent|rate|ratio|share|median|mean|avg|per_capita|density)"
                       r"($|_)|_moe$", re.I)


@dataclass
class LayerData:
    """What a layer file held, ready to store."""

    kind: str  # "polygons" | "points"
    source_crs: str
    geometries: list[BaseGeometry]  # lon/lat
    labels: list[str]
    attributes: dict[str, np.ndarray]  # numeric columns (NaN = missing)
    kinds: dict[str, str] = field(default_factory=dict)  # name -> "count" | "rate"

    def attribute_summary(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, values in self.attributes.items():
            ok = values[np.isfinite(values)]
            out[name] = {"kind": self.kinds[name], "missing": int(values.size - ok.size),
                         "min": float(ok.min()) if ok.size else None,
                         "max": float(ok.max()) if ok.size else None}
        return out

    def feature_collection(self) -> dict[str, Any]:
        features = []
        for i, geom in enumerate(self.geometries):
            props: dict[str, Any] = {"label": self.labels[i]}
            for name, values in self.attributes.items():
                v = float(values[i])
                props[name] = v if math.isfinite(v) else None
            features.append({"type": "Feature", "geometry": _rounded(geom), "properties": props})
        return {"type": "FeatureCollection", "features": features}


def guess_kind(name: str, values: np.ndarray) -> str:
    """``count`` for non-negative whole numbers without a rate-like name, else ``rate``."""
    ok = values[np.isfinite(values)]
    if RATE_NAME.search(name) or not ok.size:
        return "rate"
    return "count" if (ok >= 0).all() and np.allclose(ok, np.round(ok)) else "rate"


def read_layer(name: str, data: bytes, limits: Limits | None = None) -> LayerData:
    """Parse a GeoJSON file or a zip holding one shapefile; ``IngestRefused`` when unusable."""
    limits = limits or Limits(max_bytes=64 * 1024**2, max_expanded_bytes=256 * 1024**2)
    if len(data) > limits.max_bytes:
        raise IngestRefused("too_large", f"file is {len(data):,} bytes, over the "
                            f"{limits.max_bytes:,} limit", name)
    if data[:2] == b"PK":
        skipped: list[str] = []
        shapes = [m for m in iter_members((name, io.BytesIO(data)), limits, skipped)
                  if m.kind == "shapefile"]
        if len(shapes) != 1:
            raise IngestRefused("unreadable", "the zip must hold exactly one shapefile "
                                f"(.shp/.dbf/.prj), found {len(shapes)}", name)
        return _from_shapefile(shapes[0].parts, name)
    return _from_geojson(data, name)


def _from_geojson(data: bytes, source: str) -> LayerData:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestRefused("unreadable", f"not a GeoJSON file: {exc}", source) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise IngestRefused("unreadable", "GeoJSON must be a FeatureCollection", source)
    crs_name = "EPSG:4326"
    named = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if named:  # the 2008 GeoJSON crs member; RFC 7946 files are always lon/lat
        crs_name = str(named)
    features = doc.get("features") or []
    _check_count(len(features), source)
    geoms, props = [], []
    for i, feat in enumerate(features):
        try:
            geoms.append(shape(feat["geometry"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IngestRefused("unreadable", f"feature {i + 1} has no valid geometry",
                                source) from exc
        props.append(feat.get("properties") or {})
    return _build(geoms, props, crs_name, source)


def _from_shapefile(parts: dict[str, bytes], source: str) -> LayerData:
    reader, crs = open_shapefile(parts, source)
    try:
        records = reader.shapeRecords()
    except (shapefile.ShapefileException, ValueError) as exc:
        raise IngestRefused("unreadable", f"cannot read the shapefile: {exc}", source) from exc
    _check_count(len(records), source)
    geoms, props = [], []
    for i, rec in enumerate(records):
        try:
            geoms.append(shape(rec.shape.__geo_interface__))
        except (TypeError, ValueError, AttributeError) as exc:
            raise IngestRefused("unreadable", f"shape {i + 1} is not a valid geometry",
                                source) from exc
        props.append(rec.record.as_dict())
    return _build(geoms, props, crs.to_string(), source)


def _check_count(n: int, source: str) -> None:
    if n == 0:
        raise IngestRefused("unreadable", "the layer has no features", source)
    if n > MAX_FEATURES:
        raise IngestRefused("too_large", f"{n:,} features, over the {MAX_FEATURES:,} limit",
                            source)


def _build(geoms: list[BaseGeometry], props: list[dict[str, Any]], crs_name: str,
           source: str) -> LayerData:
    kinds = {g.geom_type for g in geoms if not g.is_empty}
    if kinds <= {"Polygon", "MultiPolygon"} and kinds:
        kind = "polygons"
    elif kinds <= {"Point", "MultiPoint"} and kinds:
        kind = "points"
    else:
        raise IngestRefused("unreadable", "a layer holds only polygons or only points, found "
                            + ", ".join(sorted(kinds) or ["no geometry"]), source)
    try:
        crs = parse_crs(crs_name)
        tr = transformer_for(crs_name)  # None: already lon/lat
    except ValueError as exc:
        raise IngestRefused("unreadable", str(exc), source) from exc
    if tr is not None:

        def _fn(c: np.ndarray) -> np.ndarray:
            return np.column_stack(tr.transform(c[:, 0], c[:, 1]))

        geoms = [shapely.transform(g, _fn) for g in geoms]
    bounds = np.array([g.bounds for g in geoms if not g.is_empty])
    if (not np.isfinite(bounds).all() or bounds[:, [0, 2]].min() < -180
            or bounds[:, [0, 2]].max() > 180 or bounds[:, [1, 3]].min() < -90
            or bounds[:, [1, 3]].max() > 90):
        raise IngestRefused("unreadable", "coordinates are not longitude/latitude after "
                            f"conversion from {crs_name}: is the CRS right?", source)
    geoms = [g if g.is_valid else shapely.make_valid(g) for g in geoms]
    if kind == "polygons":
        geoms = [_polygons_only(g) for g in geoms]
    names = sorted({k for p in props for k in p})
    attributes: dict[str, np.ndarray] = {}
    for key in names:
        values = [p.get(key) for p in props]
        numbers = _numeric(values)
        if numbers is not None:
            attributes[_clean(key)] = numbers
    label_key = next((k for k in names if k.lower() in LABEL_FIELDS), None)
    labels = [str(p.get(label_key, "") if label_key else "") or f"#{i + 1}"
              for i, p in enumerate(props)]
    kinds_by_name = {k: guess_kind(k, v) for k, v in attributes.items()}
    return LayerData(kind, crs.to_string() if crs_name != "EPSG:4326" else crs_name, geoms,
                     labels, attributes, kinds_by_name)


def _polygons_only(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def _numeric(values: list[Any]) -> np.ndarray | None:
    """A float column when every present value is a number (bools and text are not)."""
    out = np.full(len(values), np.nan)
    seen = False
    for i, v in enumerate(values):
        if v is None or v == "":
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        out[i] = float(v)
        seen = True
    return out if seen else None


def _clean(key: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]+", "_", key).strip("_")[:60] or "attribute"


def _rounded(geom: BaseGeometry) -> dict[str, Any]:
    return mapping(shapely.set_precision(geom, 1e-7)) if not geom.is_empty else mapping(geom)
