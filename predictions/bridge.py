"""The one bridge between Django rows and the engine's arrays.

Stored incidents become ``IncidentArrays``/``Events`` on a ``Grid``; area layers become
covariate matrices and fairness ``Groups``; a ``ForecastModel`` row becomes a configured
forecaster. Nothing else in the portal hands rows to the engine.
"""

from __future__ import annotations

import bisect
import json
import math
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from django.db import connection, transaction
from django.db.models import (
    Avg,
    BooleanField,
    Count,
    DateField,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    ExtractHour,
    ExtractIsoWeekDay,
    ExtractMonth,
    TruncDate,
    TruncMonth,
    TruncWeek,
)
from scipy.spatial import cKDTree
from shapely import STRtree
from shapely.geometry import shape

from agencies.models import Agency
from predictions.forecasting import ML_METHODS, Events, Forecaster, Grid, make_forecaster
from predictions.forecasting.areal import area_weights, point_covariates, polygon_covariates
from predictions.forecasting.fairness import (
    Groups,
    groups_from_layer,
    majority_labels,
    quantile_labels,
)
from predictions.forecasting.grid import xy_to_lonlat
from predictions.ingest.arrays import IncidentArrays
from predictions.models import AreaLayer, Dataset, ForecastModel, Incident
from predictions.taxonomy import CATEGORIES, ENFORCEMENT_DRIVEN


def usable_incidents(agency: Agency) -> QuerySet[Incident]:
    """The agency's incidents the engine may learn from (``IncidentQuerySet.usable``)."""
    return Incident.objects.filter(agency=agency).usable()


def _between(rows: QuerySet[Incident], start: datetime | None,
             end: datetime | None) -> QuerySet[Incident]:
    """`rows` that occurred in ``[start, end)`` (either end open when None)."""
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    return rows


def load_arrays(agency: Agency, *, exclude_categories: Collection[str] = frozenset(),
                categories: Collection[str] | None = None, start: datetime | None = None,
                end: datetime | None = None) -> IncidentArrays:
    """The agency's usable incidents as arrays (local times); only `categories` when given,
    and only those in ``[start, end)`` (aware times) when given."""
    chosen = _between(usable_incidents(agency), start, end).exclude(
        category__in=exclude_categories)
    if categories is not None:
        chosen = chosen.filter(category__in=categories)
    rows = chosen.values_list("occurred_at", "lon", "lat", "category")
    zone = ZoneInfo(agency.timezone)
    times, lon, lat, cats = [], [], [], []
    for at, x, y, c in rows.iterator(chunk_size=20_000):
        times.append(at.astimezone(zone).replace(tzinfo=None))
        lon.append(x)
        lat.append(y)
        cats.append(c)
    return IncidentArrays(
        np.array(times, dtype="datetime64[s]"), np.array(lon, float), np.array(lat, float),
        np.array(cats, dtype=object),
    )


def incident_points(agency: Agency, start: datetime,
                    end: datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category, lon and lat of the usable incidents in ``[start, end)`` (aware times)."""
    rows = list(usable_incidents(agency).filter(occurred_at__gte=start, occurred_at__lt=end)
                .values_list("category", "lon", "lat"))
    return (np.array([r[0] for r in rows], dtype=object), np.array([r[1] for r in rows], float),
            np.array([r[2] for r in rows], float))


def period_arrays(agency: Agency, start: date, end: date,
                  categories: Collection[str] | None = None) -> IncidentArrays:
    """The usable incidents of local days ``start`` to ``end`` (both included) of
    `categories` (None: every category), times in local wall-clock time (the workbench)."""
    zone = ZoneInfo(agency.timezone)
    return load_arrays(agency, categories=None if categories is None else list(categories),
                       start=datetime.combine(start, time.min, zone),
                       end=datetime.combine(end + timedelta(days=1), time.min, zone))


def build_grid(agency: Agency, arrays: IncidentArrays, cell_size: float) -> Grid:
    return Grid.from_lonlat(arrays.lon, arrays.lat, cell_size=cell_size, boundary=agency.boundary)


def to_events(arrays: IncidentArrays, grid: Grid) -> Events:
    return Events.from_lonlat(arrays.times, arrays.lon, arrays.lat, arrays.category, grid)


# a model row as a forecaster --------------------------------------------------------------
def _enforcement_included(model: ForecastModel) -> bool:
    """An all-crime model of an agency that turned enforcement categories on, with a reason."""
    agency = model.agency
    return bool(not model.category and agency.train_on_enforcement_categories
                and agency.enforcement_reason.strip())


def target_categories(model: ForecastModel) -> tuple[list[str], dict[str, str]]:
    """The categories the model forecasts, and the ones left out with the reason.

    Enforcement-driven categories (drugs, vice) stay out of all-crime targets unless the
    agency turned them on with a written reason, which the data manifest then quotes.
    """
    if model.category:
        return [model.category], {}
    if _enforcement_included(model):
        return list(CATEGORIES), {}
    excluded = {
        code: "enforcement-driven: counts follow patrol activity more than victimisation"
        for code in sorted(ENFORCEMENT_DRIVEN)
    }
    return [c for c in CATEGORIES if c not in ENFORCEMENT_DRIVEN], excluded


def data_screen(model: ForecastModel) -> dict[str, Any]:
    """What the data screen decided for this model, for the manifest."""
    agency = model.agency
    included = _enforcement_included(model)
    return {"enforcement_driven": sorted(ENFORCEMENT_DRIVEN),
            "enforcement_driven_included": included,
            "reason": agency.enforcement_reason.strip() if included else ""}


def model_covariates(model: ForecastModel, grid: Grid) -> dict[str, Any]:
    """``covariates``/``covariate_names`` parameters when the model uses the agency's layers."""
    if not (model.use_covariates and model.method in ML_METHODS):
        return {}
    matrix, names = covariates_for(model.agency, grid)
    if matrix is None:
        return {}
    return {"covariates": matrix, "covariate_names": names}


def forecaster_for(model: ForecastModel, grid: Grid, target: list[str],
                   covariates: dict[str, Any] | None = None) -> Forecaster:
    """The model's (unfitted) forecaster; `covariates` as `model_covariates` gives them
    (built here if None)."""
    if covariates is None:
        covariates = model_covariates(model, grid)
    params = {**model.parameters, **covariates}
    forecaster = make_forecaster(model.method, grid=grid, target=target, **params)
    if "horizon_days" in forecaster.get_params():
        forecaster.set_params(horizon_days=model.horizon_days)
    return forecaster


# area layers as covariates and fairness groups ---------------------------------------------
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


def fairness_layer(agency: Agency, *, shapes: bool = True) -> AreaLayer | None:
    """The agency's fairness layer; ``shapes=False`` leaves its GeoJSON unread until used."""
    layers = AreaLayer.objects.filter(agency=agency, use_for_fairness=True)
    return (layers if shapes else layers.defer("geojson")).first()


def has_fairness_layer(agency: Agency) -> bool:
    return AreaLayer.objects.filter(agency=agency, use_for_fairness=True).exists()


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


# the reference layer: where a cell is ----------------------------------------------------
@dataclass(frozen=True)
class Places:
    """The agency's reference areas (lon/lat polygons) and their names."""

    names: list[str]
    tree: STRtree

    def names_at(self, lon: np.ndarray, lat: np.ndarray) -> list[str]:
        """The name of the area holding each point ("" outside every area)."""
        found = [""] * len(lon)
        point_at, area_at = self.tree.query(shapely.points(lon, lat), predicate="within")
        for p, a in zip(point_at.tolist(), area_at.tolist(), strict=True):
            if not found[p]:
                found[p] = self.names[a]
        return found


def name_matches(names: Sequence[str], query: str, limit: int) -> list[int]:
    """Indices of the names holding the query (case, accents and spacing ignored): those
    starting with it first, then alphabetical; at most `limit`."""
    q = fold_text(query)
    if not q:
        return []
    folded = [fold_text(n) for n in names]
    return [i for _, _, i in sorted((not f.startswith(q), f, i)
                                    for i, f in enumerate(folded) if q in f)[:limit]]


def area_extent(geometry) -> dict[str, Any]:
    """Where an area is: a point inside it (``lat``, ``lon``) and its ``bounds``
    ([[south, west], [north, east]]), 5 decimals (about a metre)."""
    inside = geometry.representative_point()
    w, s, e, n = geometry.bounds
    return {"lat": round(inside.y, 5), "lon": round(inside.x, 5),
            "bounds": [[round(s, 5), round(w, 5)], [round(n, 5), round(e, 5)]]}


def reference_places(agency: Agency) -> Places | None:
    """The agency's reference areas: one small query, the polygons parsed once per layer
    and name field."""
    found = (AreaLayer.objects.filter(agency=agency, use_as_reference=True)
             .values_list("pk", "sha256", "name_field").first())
    return _places_of(*found) if found else None


@lru_cache(maxsize=32)
def _places_of(layer_id: int, sha256: str, name_field: str = "") -> Places:
    """A layer's areas (a stored layer's features never change: its id and file digest name
    them; its chosen name field names their names)."""
    features = json.loads(AreaLayer.objects.values_list("geojson", flat=True).get(pk=layer_id))[
        "features"]
    return Places(area_names(features, name_field),
                  STRtree([shape(f["geometry"]) for f in features]))


def area_names(features: list[dict[str, Any]], name_field: str = "") -> list[str]:
    """Each stored feature's name: its ``name_field`` text (one of the layer's
    ``text_fields``) where chosen and present, else its default ``label``."""
    names = []
    for f in features:
        props = f["properties"]
        chosen = (props.get("names") or {}).get(name_field) if name_field else None
        names.append(str(chosen or props.get("label", "")))
    return names


def cell_places(agency: Agency, grid_spec: dict[str, Any],
                cells: Sequence[int]) -> list[dict[str, Any]]:
    """Where each cell (flat index of the grid `grid_spec` describes) is: its centre's
    ``lat``/``lon`` (5 decimals, about a metre), ``place``, the reference area holding it
    ("" without a reference layer or outside every area), and ``address``, the recorded
    incident address nearest to its centre (agency data: for agency users only)."""
    grid = Grid.from_spec(grid_spec)
    index = np.asarray(cells, np.int64)
    lon, lat = xy_to_lonlat(grid.crs, *grid.cell_centres(index))
    places = reference_places(agency)
    names = places.names_at(lon, lat) if places else [""] * index.size
    addresses = recorded_addresses(agency).nearest(lon, lat)
    return [{"lat": round(float(la), 5), "lon": round(float(lo), 5), "place": name,
             "address": address}
            for lo, la, name, address in zip(lon, lat, names, addresses, strict=True)]


# counts for the analyst's workbench: grouped in the database ------------------------------
# Which incidents a grouping can use: the hour of day needs a recorded time; a week or a
# weekday needs the day (records dated only to the month count only by month).
TIME_PRECISIONS = frozenset({"second", "minute"})
DAY_PRECISIONS = TIME_PRECISIONS | {"day"}
NEEDS = {"hour": TIME_PRECISIONS, "weekday": DAY_PRECISIONS, "week": DAY_PRECISIONS,
         "day": DAY_PRECISIONS}


@dataclass(frozen=True)
class AreaPoints:
    """The agency's distinct incident locations and the reference area holding each (-1
    outside every area): how counts by area are made in the database without a spatial
    extension (an area's incidents are those at its points)."""

    names: list[str]
    lon: np.ndarray
    lat: np.ndarray
    area: np.ndarray

    def of(self, index: int) -> tuple[list[float], list[float]]:
        inside = self.area == index
        return self.lon[inside].tolist(), self.lat[inside].tolist()


def area_points(agency: Agency) -> AreaPoints | None:
    """The agency's locations by reference area (None without a reference layer), built once
    per layer and state of the imported data."""
    found = (AreaLayer.objects.filter(agency=agency, use_as_reference=True)
             .values_list("pk", "sha256", "name_field").first())
    if found is None:
        return None
    state = tuple(Dataset.objects.filter(agency=agency, status=Dataset.Status.DONE)
                  .order_by("pk").values_list("pk", "imported"))
    return _area_points_of(agency.pk, *found, state)


@lru_cache(maxsize=8)
def _area_points_of(agency_id: int, layer_id: int, sha256: str, name_field: str,
                    state: tuple) -> AreaPoints:
    places = _places_of(layer_id, sha256, name_field)
    rows = np.array(list(Incident.objects.filter(agency_id=agency_id).usable()
                         .values_list("lon", "lat").distinct().order_by()), float).reshape(-1, 2)
    lon, lat = rows[:, 0].copy(), rows[:, 1].copy()
    area = np.full(len(rows), -1, np.int64)
    # each area tests only the points in its bounding box not placed yet (the first area
    # holding a point wins, as in `Places.names_at`): ten times quicker than the tree's
    # "within" on a city's 60,000 locations
    for index, polygon in enumerate(places.tree.geometries):
        west, south, east, north = polygon.bounds
        near = np.flatnonzero((area < 0) & (lon >= west) & (lon <= east) & (lat >= south)
                              & (lat <= north))
        if near.size:
            shapely.prepare(polygon)
            area[near[shapely.contains_xy(polygon, lon[near], lat[near])]] = index
    return AreaPoints(places.names, lon, lat, area)


def _at_points(lon: list[float], lat: list[float]) -> RawSQL:
    """True for incidents at one of the points (exact coordinates, as the database gave them)."""
    table = Incident._meta.db_table
    if connection.vendor == "postgresql":
        return RawSQL(f"({table}.lon, {table}.lat) IN (SELECT * FROM unnest(%s::float8[], "
                      "%s::float8[]))", (lon, lat), output_field=BooleanField())
    return RawSQL(f"EXISTS (SELECT 1 FROM json_each(%s) p WHERE json_extract(p.value, '$[0]') "
                  f"= {table}.lon AND json_extract(p.value, '$[1]') = {table}.lat)",
                  (json.dumps([[a, b] for a, b in zip(lon, lat, strict=True)]),),
                  output_field=BooleanField())


def workbench_incidents(agency: Agency, *, category: str | None = None,
                        points: tuple[list[float], list[float]] | None = None,
                        start: datetime | None = None,
                        end: datetime | None = None) -> QuerySet[Incident]:
    """The usable incidents of a workbench question: a category ("" for unmapped, None for
    all), the incidents at `points` (an area's, from `AreaPoints.of`), ``[start, end)``."""
    rows = _between(usable_incidents(agency), start, end)
    if category is not None:
        rows = rows.filter(category=category)
    if points is not None:
        rows = rows.alias(at_points=_at_points(*points)).filter(at_points=True)
    return rows


def grouped_counts(rows: QuerySet[Incident], by: Sequence[str], zone: str, *,
                   keep_coarse: bool = False) -> tuple[dict[str, np.ndarray], int]:
    """Counts of `rows` grouped in the database by `by` (``day``, ``week``, ``month``: local
    period starts as datetime64[D]; ``hour``, ``weekday`` (0 = Monday), ``month_of_year``
    (1-12), ``category``), in the time zone `zone`; and how many rows are too coarse in time
    for the grouping (a date without a time, say). Those are left out, unless `keep_coarse`:
    then they are kept, marked False in the ``fine`` column."""
    tz = ZoneInfo(zone)
    fields = {
        "day": TruncDate("occurred_at", tzinfo=tz),
        "week": TruncWeek("occurred_at", output_field=DateField(), tzinfo=tz),
        "month": TruncMonth("occurred_at", output_field=DateField(), tzinfo=tz),
        "hour": ExtractHour("occurred_at", tzinfo=tz),
        "weekday": ExtractIsoWeekDay("occurred_at", tzinfo=tz) - 1,
        "month_of_year": ExtractMonth("occurred_at", tzinfo=tz),
        "category": F("category"),
    }
    unknown = [k for k in by if k not in fields]
    if unknown:
        raise ValueError(f"cannot group by {unknown}")
    needed = [NEEDS[k] for k in by if k in NEEDS]
    names = [f"g_{k}" for k in by]
    annotations: dict[str, Any] = {n: fields[k] for n, k in zip(names, by, strict=True)}
    # one scan: rows too coarse for the grouping are grouped apart, counted, then dropped
    annotations["g_fine"] = (Q(date_precision__in=sorted(frozenset.intersection(*needed)))
                             if needed else Value(True))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # room to group in memory (a hash) rather than sort on disk: the planner cannot
            # tell that a few hundred groups come out of a year's hours or weeks
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        grouped = list(rows.annotate(**annotations).values(*names, "g_fine")
                       .annotate(n=Count("id")).order_by().values_list(*names, "g_fine", "n"))
    found = [r for r in grouped if r[-2] or keep_coarse]
    left_out = sum(r[-1] for r in grouped if not r[-2])
    out: dict[str, np.ndarray] = {"fine": np.array([bool(r[-2]) for r in found], bool)}
    for i, k in enumerate(by):
        column = [r[i] for r in found]
        if k in ("day", "week", "month"):
            out[k] = np.array(column, "datetime64[D]")
        elif k == "category":
            out[k] = np.array(column, dtype=object)
        else:
            out[k] = np.array(column, np.int64)
    out["n"] = np.array([r[-1] for r in found], np.int64)
    return out, left_out


def data_span(agency: Agency) -> tuple[np.datetime64, np.datetime64] | None:
    """The local days of the agency's first usable incident and the day after its last
    (None without incidents)."""
    span = usable_incidents(agency).aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    if span["first"] is None:
        return None
    zone = ZoneInfo(agency.timezone)
    first = span["first"].astimezone(zone).date()
    last = span["last"].astimezone(zone).date()
    return np.datetime64(first, "D"), np.datetime64(last, "D") + 1


def data_manifest(agency: Agency, excluded: dict[str, str]) -> dict[str, Any]:
    """What a model was trained on: files, span, counts by category, exclusions and why."""
    datasets = Dataset.objects.filter(agency=agency, status=Dataset.Status.DONE)
    incidents = Incident.objects.filter(agency=agency)
    span = incidents.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    by_category = dict(
        usable_incidents(agency).values_list("category").annotate(n=Count("id"))
        .values_list("category", "n")
    )
    return {
        "datasets": [
            {"id": d.pk, "name": d.name, "sha256": d.sha256, "rows_read": d.rows_read,
             "imported": d.imported, "duplicates": d.duplicates, "rejected": d.rejected,
             "rejected_by_reason": d.summary.get("rejected", {})}
            for d in datasets
        ],
        "first_incident": span["first"].astimezone(UTC).isoformat() if span["first"] else None,
        "last_incident": span["last"].astimezone(UTC).isoformat() if span["last"] else None,
        "usable_by_category": {k or "unmapped": v for k, v in by_category.items()},
        "excluded_rows": {
            "cancelled": incidents.filter(cancelled=True).count(),
            "location_withheld": incidents.filter(location_withheld=True).count(),
        },
        "excluded_categories": excluded,
    }


def json_safe(value: Any) -> Any:
    """NaN and infinities become None (JSON has neither); numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# recorded addresses: where incidents were recorded, for agency users only ----------------
@dataclass(frozen=True)
class Addresses:  # (frozen: cached_property writes to __dict__, which frozen allows)
    """The agency's recorded incident addresses (as its records spell them, often a block),
    each at the mean position of its located incidents. Agency data: never for the public."""

    texts: list[str]
    folded: list[str]
    lon: np.ndarray
    lat: np.ndarray
    counts: np.ndarray
    tree: cKDTree  # on (lon * cos(mean lat), lat): near enough to metres at a city's scale

    def search(self, query: str, limit: int = 8) -> list[dict[str, Any]]:
        """Addresses holding every word of the query (case and accents ignored): those
        starting with it first, each group the most recorded first (the order they are
        kept in, so the scan stops at `limit`)."""
        words = fold_text(query).split()
        if not words:
            return []
        found: list[int] = []
        for pattern, skip in (("\n" + words[0], 1), (words[0], 0)):
            for at in _occurrences(self._blob, pattern):
                i = self._line_at(at + skip)
                if i in found or not all(w in self.folded[i] for w in words[1:]):
                    continue
                found.append(i)
                if len(found) == limit:
                    break
            if len(found) == limit:
                break
        return [{"name": self.texts[i], "lat": round(float(self.lat[i]), 5),
                 "lon": round(float(self.lon[i]), 5), "kind": "address"} for i in found]

    @cached_property
    def _blob(self) -> str:
        """Every folded address after a line break: one scan of this text finds a word."""
        return "".join("\n" + text for text in self.folded)

    @cached_property
    def _starts(self) -> list[int]:
        starts, at = [], 0
        for text in self.folded:
            starts.append(at)
            at += len(text) + 1
        return starts

    def _line_at(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset) - 1

    def nearest(self, lon: np.ndarray, lat: np.ndarray) -> list[str]:
        """The recorded address nearest to each point ("" when there is none)."""
        if not self.texts or not len(lon):
            return [""] * len(lon)
        _, index = self.tree.query(_scaled(lon, lat, self.lat))
        return [self.texts[i] for i in np.atleast_1d(index).tolist()]


def _occurrences(text: str, word: str):
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


def fold_text(text: str) -> str:
    """Lower case, accents and repeated spaces removed: how names and addresses are matched."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(plain.split())


def recorded_addresses(agency: Agency) -> Addresses:
    """The agency's recorded addresses, built once per state of its imported data (the
    finished datasets' ids and row counts name it: an import or a deletion changes it)."""
    state = tuple(Dataset.objects.filter(agency=agency, status=Dataset.Status.DONE)
                  .order_by("pk").values_list("pk", "imported"))
    return _addresses_of(agency.pk, state)


@lru_cache(maxsize=8)
def _addresses_of(agency_id: int, state: tuple) -> Addresses:
    rows = list(
        Incident.objects.filter(agency_id=agency_id, cancelled=False, location_withheld=False,
                                lon__isnull=False, lat__isnull=False)
        .exclude(address="").values_list("address")
        .annotate(lon=Avg("lon"), lat=Avg("lat"), n=Count("id")).order_by("-n", "address")
    )
    texts = [" ".join(r[0].split()) for r in rows]
    lon = np.array([r[1] for r in rows], float)
    lat = np.array([r[2] for r in rows], float)
    return Addresses(texts, [fold_text(t) for t in texts], lon, lat,
                     np.array([r[3] for r in rows], np.int64),
                     cKDTree(_scaled(lon, lat, lat) if rows else np.empty((0, 2))))


def _scaled(lon: np.ndarray, lat: np.ndarray, reference_lat: np.ndarray) -> np.ndarray:
    scale = math.cos(math.radians(float(np.mean(reference_lat)))) if reference_lat.size else 1.0
    return np.column_stack([np.asarray(lon, float) * scale, np.asarray(lat, float)])
