"""Area layers: GeoJSON or a zipped shapefile in any CRS -> lon/lat features + attributes.

Polygons (census tracts, neighbourhoods) or points (places). Numeric attributes are kept,
with a text ``label`` guessed from the usual name fields and a few short text columns as
candidate name fields (``texts``).

Every geometry is checked before anything is kept, and a file is refused with the feature
and what is wrong with it (``IngestRefused``): JSON nested deeper than GeoJSON needs,
coordinates that are not finite numbers or not lon/lat after conversion, rings that are not
closed or have fewer than 4 positions, geometries that are neither polygons nor points, more
than ``MAX_FEATURES`` features or ``MAX_VERTICES`` positions. Polygons that are closed but
invalid (self-intersections, holes outside their shell...) are repaired with
``shapely.make_valid`` and listed in ``LayerData.repairs``, so the portal can say so.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from .containers import Limits, iter_members
from .errors import IngestRefused
from .geo import parse_crs, transformer_for
from .shapefiles import SHAPEFILE_ERRORS, open_shapefile

MAX_BYTES = 64 * 1024**2
MAX_FEATURES = 50_000
MAX_VERTICES = 2_000_000  # positions, over every feature
# GeoJSON needs 8 levels (collection, features, feature, geometry, then 4 for a
# MultiPolygon's coordinates); the rest is room for small nested properties.
MAX_JSON_DEPTH = 20
MAX_TEXT_FIELDS = 10  # candidate name fields kept per layer
MAX_TEXT_CHARS = 200  # a longer value is a description, not a name
LABEL_FIELDS = ("name", "label", "namelsad", "nhd_name", "title")
RESERVED = ("label", "names")  # property names the stored features use themselves
RATE_NAME = re.compile(r"(^|_)(pct|percent|rate|ratio|share|median|mean|avg|per_capita|density)"
                       r"($|_)|_moe$", re.I)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NUMBER_ARRAY = re.compile(rb"\[\s*[-0-9NI]")  # an array of numbers opens: a position
POINTS, POLYGONS = "points", "polygons"
GEOMETRY_KINDS = {"Point": POINTS, "MultiPoint": POINTS, "Polygon": POLYGONS,
                  "MultiPolygon": POLYGONS}

Progress = Callable[[int], None]


@dataclass
class LayerData:
    """What a layer file held, ready to store."""

    kind: str  # "polygons" | "points"
    source_crs: str
    geometries: list[BaseGeometry]  # lon/lat
    labels: list[str]
    attributes: dict[str, np.ndarray]  # numeric columns (NaN = missing)
    kinds: dict[str, str] = field(default_factory=dict)  # name -> "count" | "rate"
    texts: dict[str, list[str | None]] = field(default_factory=dict)  # candidate name fields
    label_field: str = ""  # the field the labels come from ("": numbered)
    repairs: list[tuple[int, str]] = field(default_factory=list)  # (feature number, why)
    n_vertices: int = 0

    def attribute_summary(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, values in self.attributes.items():
            ok = values[np.isfinite(values)]
            out[name] = {"kind": self.kinds[name], "missing": int(values.size - ok.size),
                         "min": float(ok.min()) if ok.size else None,
                         "max": float(ok.max()) if ok.size else None}
        return out

    def text_summary(self) -> list[dict[str, Any]]:
        """The candidate name fields: name, distinct and missing values, an example."""
        out = []
        for name, values in self.texts.items():
            present = [v for v in values if v]
            out.append({"name": name, "distinct": len(set(present)),
                        "missing": len(values) - len(present),
                        "example": present[0] if present else ""})
        return out

    def repair_summary(self) -> str:
        """``"3 features repaired: self-intersection (features 4, 9, 12)"``; "" for none."""
        if not self.repairs:
            return ""
        reasons = Counter(reason for _, reason in self.repairs)
        why = (next(iter(reasons)) if len(reasons) == 1
               else ", ".join(f"{n} {reason}" for reason, n in reasons.most_common()))
        numbers = [str(n) for n, _ in self.repairs[:10]]
        more = ", ..." if len(self.repairs) > 10 else ""
        n = len(self.repairs)
        return (f"{n} feature{'s' if n > 1 else ''} repaired: {why} "
                f"(feature{'s' if n > 1 else ''} {', '.join(numbers)}{more})")

    def properties(self, i: int) -> dict[str, Any]:
        """What feature ``i`` keeps: ``label``, ``names`` (its candidate name fields' texts)
        and the numeric attributes (None where missing)."""
        props: dict[str, Any] = {"label": self.labels[i]}
        names = {k: v[i] for k, v in self.texts.items() if v[i]}
        if names:
            props["names"] = names
        for name, values in self.attributes.items():
            v = float(values[i])
            props[name] = v if math.isfinite(v) else None
        return props

    def feature_collection(self) -> dict[str, Any]:
        features = [{"type": "Feature", "geometry": _rounded(geom), "properties":
                     self.properties(i)} for i, geom in enumerate(self.geometries)]
        return {"type": "FeatureCollection", "features": features}

    def geojson_text(self) -> str:
        """``feature_collection()`` as compact JSON text, the geometries written by GEOS
        (several times faster for large layers)."""
        rounded = shapely.set_precision(np.array(self.geometries, dtype=object), 1e-7)
        parts = [f'{{"type":"Feature","geometry":{geometry},"properties":'
                 f'{json.dumps(self.properties(i), separators=(",", ":"))}}}'
                 for i, geometry in enumerate(shapely.to_geojson(rounded).tolist())]
        return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def guess_kind(name: str, values: np.ndarray) -> str:
    """``count`` for non-negative whole numbers without a rate-like name, else ``rate``."""
    ok = values[np.isfinite(values)]
    if RATE_NAME.search(name) or not ok.size:
        return "rate"
    return "count" if (ok >= 0).all() and np.allclose(ok, np.round(ok)) else "rate"


def read_layer(name: str, data: bytes, limits: Limits | None = None,
               progress: Progress | None = None) -> LayerData:
    """Parse a GeoJSON file or a zip holding one shapefile; ``IngestRefused`` when unusable.

    ``progress`` (if given) is called with a rough percentage as the work goes on.
    """
    limits = limits or Limits(max_bytes=MAX_BYTES, max_expanded_bytes=256 * 1024**2)
    report = _Reporter(progress)
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
        return _from_shapefile(shapes[0].parts, name, report)
    return _from_geojson(data, name, report)


class _Reporter:
    """Calls ``progress`` when the percentage moves by 5 or more."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.last = progress, -5

    def __call__(self, percent: float) -> None:
        percent = int(min(max(percent, 0), 99))
        if self.progress is not None and percent >= self.last + 5:
            self.last = percent
            self.progress(percent)


# GeoJSON ------------------------------------------------------------------------------------
def _from_geojson(data: bytes, source: str, report: _Reporter) -> LayerData:
    _check_nesting(data, source)
    report(5)
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except ValueError as exc:  # bad UTF-8, bad JSON, an integer of thousands of digits
        raise IngestRefused("unreadable", f"not a GeoJSON file: {exc}", source) from exc
    except RecursionError as exc:  # _check_nesting stops these first; never a crash
        raise IngestRefused("unreadable", "the JSON is nested too deeply", source) from exc
    report(20)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise IngestRefused("unreadable", "GeoJSON must be a FeatureCollection", source)
    crs_name = _crs_name(doc.get("crs"))
    features = doc.get("features")
    if features is None:
        features = []
    if not isinstance(features, list):
        raise IngestRefused("unreadable", "the FeatureCollection's features are not a list",
                            source)
    _check_count(len(features), source)
    vertices = _Vertices(source)
    geoms, props = [], []
    for i, feat in enumerate(features):
        where = f"feature {i + 1}"
        if not isinstance(feat, dict):
            raise IngestRefused("unreadable", f"{where} is not a GeoJSON Feature", source)
        properties = feat.get("properties")
        if properties is not None and not isinstance(properties, dict):
            raise IngestRefused("unreadable", f"{where}: its properties are not an object",
                                source)
        geoms.append(_geometry(feat.get("geometry"), where, source, vertices))
        props.append(properties or {})
        if i % 1000 == 999:
            report(20 + 40 * i / len(features))
    return _build(geoms, props, crs_name, source, vertices.total, report)


def _check_nesting(data: bytes, source: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, or holding far more positions than
    MAX_VERTICES, before parsing it (no recursion, no memory spent on it)."""
    bare = _JSON_STRING.sub(b'""', data)  # brackets inside strings do not count
    arr = np.frombuffer(bare, np.uint8)
    opens = (arr == ord("[")) | (arr == ord("{"))
    at = np.flatnonzero(opens | (arr == ord("]")) | (arr == ord("}")))
    if at.size:
        depth = np.cumsum(np.where(opens[at], 1, -1), dtype=np.int64)
        deepest = int(depth.max())
        if deepest > MAX_JSON_DEPTH:
            where = int(at[int(np.argmax(depth > MAX_JSON_DEPTH))])
            raise IngestRefused(
                "unreadable", f"the JSON is nested {deepest:,} levels deep (GeoJSON needs at "
                f"most {MAX_JSON_DEPTH}; the first too deep array or object opens at byte "
                f"{where:,})", source)
    # every position is an array of numbers; allow some for bounding boxes and properties
    positions = len(_NUMBER_ARRAY.findall(bare))
    if positions > MAX_VERTICES * 5 // 4:
        raise IngestRefused("too_large", f"about {positions:,} positions, over the "
                            f"{MAX_VERTICES:,} vertex limit", source)


def _crs_name(crs: Any) -> str:
    """The 2008 GeoJSON ``crs`` member's name; RFC 7946 files are always lon/lat (and
    coordinates that are not are refused later, feature by feature)."""
    named = crs.get("properties") if isinstance(crs, dict) else None
    named = named.get("name") if isinstance(named, dict) else None
    return named.strip() if isinstance(named, str) and named.strip() else "EPSG:4326"


# shapefiles ---------------------------------------------------------------------------------
def _from_shapefile(parts: dict[str, bytes], source: str, report: _Reporter) -> LayerData:
    reader, crs = open_shapefile(parts, source)
    report(10)
    try:
        _check_count(len(reader), source)
    except (TypeError, *SHAPEFILE_ERRORS) as exc:
        raise IngestRefused("unreadable", f"cannot read the shapefile: {exc}", source) from exc
    total = max(len(reader), 1)
    vertices = _Vertices(source)
    geoms, props = [], []
    number = 0
    records = reader.iterShapeRecords()
    while True:
        try:
            rec = next(records, None)
        except SHAPEFILE_ERRORS as exc:
            msg = f"the shapefile is damaged or truncated at shape {number + 1:,}: {exc}"
            raise IngestRefused("unreadable", msg, source) from exc
        if rec is None:
            break
        number += 1
        where = f"shape {number}"
        if number > MAX_FEATURES:
            _check_count(number, source)
        if rec.shape.shapeType == 0:
            raise IngestRefused("unreadable", f"{where} has no geometry (a null shape)",
                                source)
        try:
            geo = rec.shape.__geo_interface__
        except Exception as exc:  # pyshp raises plain Exceptions for shapes it cannot map
            raise IngestRefused("unreadable", f"{where} is not a valid geometry: {exc}",
                                source) from exc
        geoms.append(_geometry(geo, where, source, vertices))
        props.append(rec.record.as_dict())
        if number % 1000 == 0:
            report(10 + 50 * number / total)
    _check_count(len(geoms), source)
    return _build(geoms, props, crs.to_string(), source, vertices.total, report)


def _check_count(n: int, source: str) -> None:
    if n == 0:
        raise IngestRefused("unreadable", "the layer has no features", source)
    if n > MAX_FEATURES:
        raise IngestRefused("too_large", f"{n:,} features, over the {MAX_FEATURES:,} limit",
                            source)


# geometries ---------------------------------------------------------------------------------
class _Vertices:
    """Counts positions over the whole layer, refusing past MAX_VERTICES."""

    def __init__(self, source: str) -> None:
        self.source, self.total = source, 0

    def add(self, n: int, where: str) -> None:
        self.total += n
        if self.total > MAX_VERTICES:
            raise IngestRefused("too_large", f"over {MAX_VERTICES:,} vertices (the limit) by "
                                f"{where}", self.source)


def _geometry(geo: Any, where: str, source: str, vertices: _Vertices) -> BaseGeometry:
    """A Point, MultiPoint, Polygon or MultiPolygon from a GeoJSON-like mapping, every
    position checked; ``IngestRefused`` naming the feature (`where`) otherwise."""

    def refuse(message: str) -> IngestRefused:
        return IngestRefused("unreadable", f"{where}: {message}", source)

    if not isinstance(geo, dict) or geo.get("type") is None:
        raise refuse("it has no geometry")
    kind = geo["type"]
    if kind not in GEOMETRY_KINDS:
        raise refuse(f"its geometry is a {str(kind)[:40]}; a layer holds only polygons or "
                     "only points")
    coords = geo.get("coordinates")
    if kind == "Point":
        point = _positions([coords], refuse, "the point")
        vertices.add(1, where)
        return shapely.Point(point[0])
    if kind == "MultiPoint":
        points = _positions(coords, refuse, "the points")
        vertices.add(len(points), where)
        return shapely.MultiPoint(points)
    if kind == "Polygon":
        return _polygon(coords, refuse, "", vertices, where)
    if not isinstance(coords, list | tuple) or not coords:
        raise refuse("the MultiPolygon has no polygons")
    return shapely.MultiPolygon([_polygon(p, refuse, f"polygon {j + 1}, ", vertices, where)
                                 for j, p in enumerate(coords)])


def _polygon(rings: Any, refuse: Callable[[str], IngestRefused], prefix: str,
             vertices: _Vertices, where: str) -> shapely.Polygon:
    if not isinstance(rings, list | tuple) or not rings:
        raise refuse(f"{prefix}the polygon has no rings")
    arrays = []
    for k, ring in enumerate(rings):
        what = f"{prefix}ring {k + 1}"
        arr = _positions(ring, refuse, what)
        if len(arr) < 4:
            raise refuse(f"{what} has {len(arr)} positions; a ring needs at least 4 (its "
                         "first position repeated at the end)")
        if not np.array_equal(arr[0], arr[-1]):
            raise refuse(f"{what} is not closed: its first position {_pos(arr[0])} differs "
                         f"from its last {_pos(arr[-1])}")
        vertices.add(len(arr), where)
        arrays.append(arr)
    return shapely.Polygon(arrays[0], arrays[1:])


def _positions(value: Any, refuse: Callable[[str], IngestRefused], what: str) -> np.ndarray:
    """An (n, 2) float array of finite x, y from a list of [x, y(, z...)] positions."""
    if not isinstance(value, list | tuple) or not value:
        raise refuse(f"{what}: no positions")
    try:
        arr = np.array(value)
    except (ValueError, TypeError, OverflowError):  # ragged or nested deeper than positions
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] < 2 or arr.dtype.kind not in "iuf":
        raise refuse(f"{what} is not a list of [x, y] number positions")
    arr = arr[:, :2].astype(np.float64)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise refuse(f"{what}: position {bad + 1} is not a finite number pair "
                     f"({_pos(arr[bad])})")
    return arr


def _pos(p: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(v):.10g}" for v in p) + "]"


# from checked geometries to a layer ----------------------------------------------------------
def _build(geoms: list[BaseGeometry], props: list[dict[str, Any]], crs_name: str,
           source: str, n_vertices: int, report: _Reporter) -> LayerData:
    kinds = {GEOMETRY_KINDS[g.geom_type] for g in geoms}
    if len(kinds) != 1:
        first = next(i for i, g in enumerate(geoms)
                     if GEOMETRY_KINDS[g.geom_type] != GEOMETRY_KINDS[geoms[0].geom_type])
        raise IngestRefused("unreadable", "a layer holds only polygons or only points, found "
                            f"{', '.join(sorted(g.geom_type for g in (geoms[0], geoms[first])))}"
                            f" (features 1 and {first + 1})", source)
    kind = kinds.pop()
    try:
        crs = parse_crs(crs_name)
        tr = transformer_for(crs_name)  # None: already lon/lat
    except ValueError as exc:
        raise IngestRefused("unreadable", str(exc), source) from exc
    array = np.array(geoms, dtype=object)
    if tr is not None:

        def _fn(c: np.ndarray) -> np.ndarray:
            return np.column_stack(tr.transform(c[:, 0], c[:, 1]))

        array = shapely.transform(array, _fn)
    report(70)
    _check_lonlat(array, crs_name, source)
    repairs: list[tuple[int, str]] = []
    if kind == POLYGONS:
        array = _repaired(array, repairs, source)
    report(85)
    names = sorted({k for p in props for k in p})
    attributes: dict[str, np.ndarray] = {}
    for key in names:
        numbers = _numeric([p.get(key) for p in props])
        if numbers is not None:
            clean = _clean(key)
            attributes[f"{clean}_value" if clean in RESERVED else clean] = numbers
    label_key = next((k for k in names if k.lower() in LABEL_FIELDS), None)
    labels = [str(p.get(label_key, "") if label_key else "") or f"#{i + 1}"
              for i, p in enumerate(props)]
    kinds_by_name = {k: guess_kind(k, v) for k, v in attributes.items()}
    return LayerData(kind, crs.to_string() if crs_name != "EPSG:4326" else crs_name,
                     list(array), labels, attributes, kinds_by_name,
                     texts=_text_columns(names, props), label_field=label_key or "",
                     repairs=repairs, n_vertices=n_vertices)


def _check_lonlat(array: np.ndarray, crs_name: str, source: str) -> None:
    bounds = shapely.bounds(array)
    with np.errstate(invalid="ignore"):
        ok = (np.isfinite(bounds).all(axis=1) & (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180)
              & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90))
    if not ok.all():
        i = int(np.argmin(ok))
        corner = _pos(bounds[i, :2]) if np.isfinite(bounds[i]).all() else "not finite"
        raise IngestRefused("unreadable", f"feature {i + 1}: its coordinates are not "
                            f"longitude/latitude after conversion from {crs_name} ({corner}):"
                            " is the CRS right?", source)


def _repaired(array: np.ndarray, repairs: list[tuple[int, str]], source: str) -> np.ndarray:
    """Invalid polygons made valid (``make_valid``, polygon parts only), noted in
    ``repairs``; one that has no area left is refused."""
    for i in np.flatnonzero(~shapely.is_valid(array)).tolist():
        reason = re.sub(r"\[.*$", "", shapely.is_valid_reason(array[i])).strip().lower()
        fixed = _polygons_only(shapely.make_valid(array[i]))
        if fixed.is_empty or fixed.geom_type not in ("Polygon", "MultiPolygon") or not (
                fixed.area > 0):
            raise IngestRefused("unreadable", f"feature {i + 1}: the polygon is invalid "
                                f"({reason}) and has no area once repaired", source)
        array[i] = fixed
        repairs.append((i + 1, reason or "invalid geometry"))
    return array


def _polygons_only(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def _text_columns(names: Iterable[str], props: list[dict[str, Any]]
                  ) -> dict[str, list[str | None]]:
    """Up to MAX_TEXT_FIELDS columns of short text (names, ids, types): the usual name
    fields first, then those with the most distinct values."""
    found: dict[str, list[str | None]] = {}
    for key in names:
        values: list[str | None] = []
        for p in props:
            v = p.get(key)
            if v is None or (isinstance(v, str) and not v.strip()):
                values.append(None)
            elif isinstance(v, str) and len(v) <= MAX_TEXT_CHARS:
                values.append(v.strip())
            else:
                break
        else:
            if any(values):
                found[key] = values
    order = sorted(found, key=lambda k: (k.lower() not in LABEL_FIELDS,
                                         -len(set(found[k]) - {None}), k))
    return {k: found[k] for k in order[:MAX_TEXT_FIELDS]}


def _numeric(values: list[Any]) -> np.ndarray | None:
    """A float column when every present value is a number (bools and text are not)."""
    out = np.full(len(values), np.nan)
    seen = False
    for i, v in enumerate(values):
        if v is None or v == "":
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        try:
            out[i] = float(v)
        except OverflowError:  # an integer too large for a float
            return None
        seen = True
    return out if seen else None


def _clean(key: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]+", "_", key).strip("_")[:60] or "attribute"


def _rounded(geom: BaseGeometry) -> dict[str, Any]:
    return mapping(shapely.set_precision(geom, 1e-7)) if not geom.is_empty else mapping(geom)
