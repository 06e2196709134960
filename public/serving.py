"""Serving the public map: everything here is read from stored releases, never incidents.

Every request starts with one cheap query, `published(slug)`: the agency if (and only while)
it publishes a public map, with the version of its releases (how many, the newest id and
creation time, first and last month) and the last month that the delay lets out now. Any
release added or deleted, the map switched off or a month leaving the delay changes that
answer, so nothing built from an older state is ever served again: releases are never edited
in place (a month is published once and its noise never redrawn; withdrawing one deletes it).

An agency's releases are loaded once per process into a `Bundle` (numpy arrays) keyed by that
version. Totals, trends and last-year figures are sums of the published noisy cells
(post-processing: no budget spent, never contradicting them).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.conf import settings
from django.db import connection
from django.http import Http404

from agencies.models import Agency
from predictions.bridge import reference_places
from predictions.forecasting.grid import Grid, xy_to_lonlat
from predictions.models import AreaLayer
from predictions.taxonomy import CATEGORIES
from public import privacy
from public.models import PublicRelease
from public.places import PublicPlaces, public_places
from public.places import margin_90 as public_margin
from public.publish import add_months, latest_publishable_month_in

COORD_DECIMALS = 6
# what names the reference layer's state in `published` (SQL over the layer row `l`)
REFERENCE_VERSION = "CAST(l.id AS TEXT) || ':' || l.sha256 || ':' || l.name_field"


@dataclass(frozen=True)
class Published:
    """An agency that publishes its public map, as one query saw it just now."""

    agency_id: int
    slug: str
    name: str
    timezone: str
    version: tuple  # (releases, newest id, newest created_at, first month, last month,
    #                  reference layer, last ok)

    @property
    def last_publishable(self) -> date:
        return date.fromisoformat(self.version[-1])

    @property
    def key(self) -> str:
        """Names this exact state: any change of the agency's releases gives another key."""
        raw = repr((self.agency_id, self.slug, self.name, self.version)).encode()
        return hashlib.sha256(raw).hexdigest()[:32]


def _published_sql() -> str:
    agency, release = Agency._meta.db_table, PublicRelease._meta.db_table
    layer = AreaLayer._meta.db_table
    # Hand-written: this runs on every public request, and building it with the ORM costs
    # several times more than the query itself. The reference layer (named areas) is part of
    # the state: choosing another one, or another name field, changes every answer.
    return (
        f"SELECT a.id, a.slug, a.name, a.timezone, COUNT(r.id), MAX(r.id), "
        f"MAX(r.created_at), MIN(r.month), MAX(r.month), "
        f"(SELECT {REFERENCE_VERSION} FROM {layer} l "
        f"WHERE l.agency_id = a.id AND l.use_as_reference LIMIT 1) "
        f"FROM {agency} a LEFT OUTER JOIN {release} r ON r.agency_id = a.id "
        f"WHERE a.slug = %s AND a.publishes_public_map = %s "
        f"GROUP BY a.id, a.slug, a.name, a.timezone"
    )


def published(slug: str) -> Published:
    """The one query of a public request: 404 unless the agency publishes its public map."""
    return published_from(published_row(slug))


def published_row(slug: str) -> tuple | None:
    """What the database says of the agency's public map now (None: not published)."""
    with connection.cursor() as cursor:
        cursor.execute(_published_sql(), [slug, True])
        return cursor.fetchone()


def published_from(row: tuple | None) -> Published:
    """The Published state of a `published_row`, with the months the delay lets out now."""
    if row is None:
        raise Http404("no public map")
    pk, slug, name, tz, n, last, at, first, final, reference = row
    # (dates come back as text on SQLite, as dates on PostgreSQL: they only tell versions apart)
    version = (
        n,
        last,
        str(at or ""),
        str(first or ""),
        str(final or ""),
        reference or "",
        latest_publishable_month_in(tz).isoformat(),
    )
    return Published(pk, slug, name, tz, version)


@dataclass
class Bundle:
    agency_id: int
    slug: str
    name: str
    months: list[str]  # "YYYY-MM", ascending, only publishable ones
    cell_ids: list[str]  # "c<index>" of the public grid
    cols_rows: list[tuple[int, int]]
    polygons: list[dict]
    counts: dict[str, np.ndarray]  # category -> (months, cells)
    city: dict[str, np.ndarray]  # sensitive category -> (months,)
    epsilon: float
    mechanism: str
    delay_days: int
    cell_size: float
    total_epsilon: float
    centres: list[tuple[float, float]] = field(default_factory=list)  # (lat, lon) per cell
    places: PublicPlaces | None = None  # the named areas, where a reference layer is chosen
    _index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self._index = {m: i for i, m in enumerate(self.months)}

    def month_index(self, key: str) -> int:
        if key not in self._index:
            raise Http404("month not published")
        return self._index[key]

    @property
    def categories(self) -> list[dict]:
        out = [{"code": c, "label": CATEGORIES[c].label, "level": "cell"} for c in self.counts]
        out += [{"code": c, "label": CATEGORIES[c].label, "level": "city"} for c in self.city]
        return out


_bundles: dict[int, tuple[str, Bundle]] = {}  # agency id -> (Published.key, bundle)
_lock = threading.Lock()


def bundle_for(slug: str) -> Bundle:
    """The published data of an agency, or 404 when it publishes nothing (yet)."""
    return bundle_of(published(slug))


def bundle_of(pub: Published) -> Bundle:
    """The bundle of exactly this state of the agency's releases (loaded once per process)."""
    held = _bundles.get(pub.agency_id)
    if held is not None and held[0] == pub.key:
        return held[1]
    bundle = _load(pub)
    with _lock:
        _bundles[pub.agency_id] = (pub.key, bundle)
    return bundle


def _load(pub: Published) -> Bundle:
    releases = list(
        PublicRelease.objects.filter(
            agency_id=pub.agency_id, month__lte=pub.last_publishable
        ).order_by("month")
    )
    if not releases:
        raise Http404("nothing published")
    latest = releases[-1]
    # One map needs one grid: releases made on another grid (cell size changed) are left out.
    releases = [r for r in releases if r.grid == latest.grid and r.cells == latest.cells]
    grid = Grid.from_spec(latest.grid)
    cells = np.asarray(latest.cells, np.int64)
    polygons = grid.cell_polygons_lonlat(cells)
    for poly in polygons:
        poly["coordinates"] = [
            [[round(a, COORD_DECIMALS), round(b, COORD_DECIMALS)] for a, b in ring]
            for ring in poly["coordinates"]
        ]
    cols, rows = grid.index_to_col_row(cells)
    lon, lat = xy_to_lonlat(grid.crs, *grid.cell_centres(cells))
    places = None
    if pub.version[5]:  # a reference layer is chosen
        found = reference_places(Agency.objects.get(pk=pub.agency_id))
        places = public_places(found, lon, lat) if found else None
    counts = {
        c: np.array([r.counts[c] for r in releases], np.int64).reshape(len(releases), -1)
        for c in latest.counts
    }
    city = {
        c: np.array([r.city_counts.get(c, 0) for r in releases], np.int64)
        for c in latest.city_counts
    }
    return Bundle(
        agency_id=pub.agency_id,
        slug=pub.slug,
        name=pub.name,
        months=[r.month_key for r in releases],
        cell_ids=[f"c{i}" for i in cells.tolist()],
        cols_rows=list(zip(cols.tolist(), rows.tolist(), strict=True)),
        polygons=polygons,
        counts=counts,
        city=city,
        epsilon=latest.epsilon,
        mechanism=latest.mechanism,
        delay_days=latest.delay_days,
        cell_size=grid.cell_size,
        total_epsilon=sum(r.epsilon for r in releases),
        centres=[(round(float(a), 5), round(float(o), 5))
                 for a, o in zip(lat.tolist(), lon.tolist(), strict=True)],
        places=places,
    )


def answer_key(pub: Published, *parts) -> str:
    """A cache key for an answer built from this state of the releases, the settings that
    shape answers, and `parts` (which answer, which parameters)."""
    shaping = (
        settings.PUBLIC_SMALL_COUNT,
        float(settings.PUBLIC_TOTAL_BUDGET),
        settings.PUBLIC_SENSITIVE_LEVEL,
        tuple(settings.PUBLIC_SENSITIVE_CATEGORIES),
    )
    raw = repr((pub.key, shaping, parts)).encode()
    return hashlib.sha256(raw).hexdigest()[:40]


# --- selections ---------------------------------------------------------------------------
@dataclass
class Selection:
    category: str
    level: str  # "cell" or "city"
    start: int  # month indices into bundle.months, inclusive
    end: int


def select(bundle: Bundle, params) -> Selection:
    """Category and month range from query parameters; 404 for anything not published."""
    category = params.get("category") or next(iter(bundle.counts), None)
    if category in bundle.counts:
        level = "cell"
    elif category in bundle.city:
        level = "city"
    else:
        raise Http404("category not published")
    start, end = month_range(bundle, params, last_months=12)
    return Selection(category, level, start, end)


def month_range(bundle: Bundle, params, last_months: int | None = None) -> tuple[int, int]:
    """Month indices (inclusive) of the `from`/`to` parameters: `to` defaults to the newest
    month, `from` to `last_months` before it (None: the oldest); 404 for an unpublished
    month or an empty range."""
    last = len(bundle.months) - 1
    end = bundle.month_index(params["to"]) if params.get("to") else last
    if params.get("from"):
        start = bundle.month_index(params["from"])
    else:
        start = 0 if last_months is None else max(0, end - last_months + 1)
    if start > end:
        raise Http404("empty month range")
    return start, end


def shown(value: int) -> str:
    """A published value as shown to people: a range below PUBLIC_SMALL_COUNT."""
    small = settings.PUBLIC_SMALL_COUNT
    return f"0-{small - 1}" if value < small else str(int(value))


def series(bundle: Bundle, category: str, cell: str | None = None) -> np.ndarray:
    """Monthly published values of the city (sum of cells) or of one cell."""
    if category in bundle.city:
        if cell is not None:
            raise Http404("published city-wide only")
        return bundle.city[category]
    table = bundle.counts[category]
    if cell is None:
        return table.sum(axis=1)
    place = bundle.places.index(cell) if bundle.places else None
    if place is not None:
        return table[:, bundle.places.cell_area == place].sum(axis=1)
    try:
        return table[:, bundle.cell_ids.index(cell)]
    except ValueError:
        raise Http404("no such area") from None


def range_total(bundle: Bundle, values: np.ndarray, sel: Selection, shift: int = 0) -> int | None:
    """Sum over the selected (published) months, each shifted by `shift` months; None if any
    shifted month is unpublished. (A withdrawn month inside the range is simply not there.)"""
    keys = [
        f"{add_months(date.fromisoformat(m + '-01'), shift):%Y-%m}"
        for m in bundle.months[sel.start : sel.end + 1]
    ]
    if any(k not in bundle._index for k in keys):
        return None
    return int(sum(values[bundle._index[k]] for k in keys))


def cell_values(bundle: Bundle, sel: Selection) -> np.ndarray:
    return bundle.counts[sel.category][sel.start : sel.end + 1].sum(axis=0)


def map_geojson(bundle: Bundle, sel: Selection) -> dict:
    period = {"from": bundle.months[sel.start], "to": bundle.months[sel.end]}
    if sel.level == "city":
        return {
            "type": "FeatureCollection",
            "features": [],
            "category": sel.category,
            "level": "city",
            **period,
        }
    values = cell_values(bundle, sel)
    names = bundle.places.cell_names() if bundle.places else [""] * len(values)
    features = [
        {
            "type": "Feature",
            "id": cid,
            "geometry": poly,
            "properties": {"area": cid, "value": int(v), "shown": shown(v), "lat": lat,
                           "lon": lon, "place": place},
        }
        for cid, poly, v, (lat, lon), place in zip(
            bundle.cell_ids, bundle.polygons, values.tolist(), bundle.centres, names,
            strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "category": sel.category,
        "level": "cell",
        **period,
    }


def places_geojson(bundle: Bundle, sel: Selection) -> dict:
    """The named areas with the sum of their cells' published values over the selection
    (no features for a city-wide category or without a reference layer)."""
    period = {"from": bundle.months[sel.start], "to": bundle.months[sel.end]}
    places = bundle.places
    features = []
    if places is not None and sel.level == "cell":
        values = places.sums(cell_values(bundle, sel))
        months = sel.end - sel.start + 1
        for i, v in enumerate(values.tolist()):
            lat, lon = places.centres[i]
            cells = int(places.cell_counts[i])
            features.append({
                "type": "Feature",
                "id": places.ids[i],
                "geometry": places.outlines[i],
                "properties": {
                    "area": places.ids[i], "name": places.names[i], "cells": cells,
                    "value": int(v) if cells else None, "shown": shown(v) if cells else "–",
                    "margin_90": public_margin(bundle.epsilon, cells, months) if cells else None,
                    "lat": lat, "lon": lon,
                },
            })
    return {"type": "FeatureCollection", "features": features, "category": sel.category,
            "level": sel.level if places is not None else "none", **period}


def area_name(bundle: Bundle, area: str | None) -> str:
    """How an area is named to people: a place's name, "area c12" or "whole area"."""
    if not area:
        return "whole area"
    i = bundle.places.index(area) if bundle.places else None
    return bundle.places.names[i] if i is not None else f"area {area}"


def trend(bundle: Bundle, category: str, cell: str | None, start: int = 0,
          end: int | None = None) -> dict:
    """Monthly values of the city or one cell, months `start`..`end` (indices, inclusive;
    default all), each with the same month a year before where that is published."""
    values = series(bundle, category, cell)
    last = len(bundle.months) - 1 if end is None else end
    points = []
    for i in range(start, last + 1):
        month = bundle.months[i]
        first = date.fromisoformat(month + "-01")
        prev = f"{add_months(first, -12):%Y-%m}"
        j = bundle._index.get(prev)
        points.append(
            {
                "month": month,
                "value": int(values[i]),
                "shown": shown(values[i]),
                "last_year": None if j is None else int(values[j]),
            }
        )
    return {"category": category, "area": cell or "city", "name": area_name(bundle, cell),
            "points": points}


def summary(bundle: Bundle, sel: Selection) -> dict:
    city = series(bundle, sel.category)
    total = range_total(bundle, city, sel)
    last_year = range_total(bundle, city, sel, shift=-12)
    return {
        "category": sel.category,
        "level": sel.level,
        "from": bundle.months[sel.start],
        "to": bundle.months[sel.end],
        "city_total": total,
        "city_total_shown": shown(total),
        "last_year_total": last_year,
        "last_year_shown": None if last_year is None else shown(last_year),
        "margin_90_per_value": privacy.margin_90(bundle.epsilon),
    }


def method(bundle: Bundle) -> dict:
    return {
        "mechanism": bundle.mechanism,
        "epsilon_per_month": bundle.epsilon,
        "epsilon_spent": round(bundle.total_epsilon, 6),
        "total_budget": float(settings.PUBLIC_TOTAL_BUDGET),
        "noise_sd": round(privacy.geometric_variance(bundle.epsilon) ** 0.5, 3),
        "margin_90": privacy.margin_90(bundle.epsilon),
        "delay_days": bundle.delay_days,
        "cell_size_m": bundle.cell_size,
        "small_values_below": settings.PUBLIC_SMALL_COUNT,
        "sensitive_categories": [
            CATEGORIES[c].label for c in settings.PUBLIC_SENSITIVE_CATEGORIES if c in CATEGORIES
        ],
        "sensitive_level": settings.PUBLIC_SENSITIVE_LEVEL,
    }
