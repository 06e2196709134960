"""The one place where stored incidents become the engine's arrays (and back)."""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Count, Max, Min

from agencies.models import Agency
from predictions.forecasting import Events, Grid
from predictions.ingest.arrays import IncidentArrays
from predictions.models import Dataset, Incident


def usable_incidents(agency: Agency):
    """Incidents the engine may learn from: not cancelled, with a location."""
    return Incident.objects.filter(
        agency=agency, cancelled=False, location_withheld=False, lon__isnull=False,
        lat__isnull=False,
    )


def load_arrays(agency: Agency, *, exclude_categories: set[str] = frozenset()) -> IncidentArrays:
    rows = usable_incidents(agency).exclude(category__in=exclude_categories).values_list(
        "occurred_at", "lon", "lat", "category")
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


def build_grid(agency: Agency, arrays: IncidentArrays, cell_size: float) -> Grid:
    return Grid.from_lonlat(arrays.lon, arrays.lat, cell_size=cell_size, boundary=agency.boundary)


def to_events(arrays: IncidentArrays, grid: Grid) -> Events:
    return Events.from_lonlat(arrays.times, arrays.lon, arrays.lat, arrays.category, grid)


def grid_dict(grid: Grid) -> dict[str, Any]:
    return {"crs": grid.crs, "cell_size": grid.cell_size, "origin_x": grid.origin_x,
            "origin_y": grid.origin_y, "nx": grid.nx, "ny": grid.ny}


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
