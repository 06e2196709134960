"""Serving forecasts: every read is recorded in the transaction that reads it.

`audited_read` runs the read and `audit.record` in one transaction: if the record cannot
be written, the read raises and nothing is served."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse

import audit
from audit.events import Action
from predictions.forecasts.patrol import PLAIN, Patrol, patrol
from predictions.forecasts.purpose import Purpose
from predictions.models import Forecast

T = TypeVar("T")
LAYER_CACHE_SECONDS = 24 * 3600


def parse_coverage(text: str | None) -> float:
    """A coverage (share of the active area) from a query parameter: 0.01 when absent,
    clamped to [0.001, 1]; ValueError for anything but a finite number."""
    value = float(text) if text else 0.01
    if not math.isfinite(value):
        raise ValueError("coverage must be a finite number")
    return min(max(value, 0.001), 1.0)


def coverage_cells(forecast: Forecast, coverage: float | None, cells: int | None) -> int:
    """How many top cells a coverage (share of the active area) or a cell count flags."""
    if cells:
        return max(1, min(int(cells), forecast.n_cells))
    return max(1, round((coverage or 0.01) * forecast.n_cells))


def audited_read(request, forecast: Forecast, purpose: Purpose, action: Action,
                 read: Callable[[], T], describe: Callable[[T], dict]) -> T:
    with transaction.atomic():
        result = read()
        audit.record(
            action=action, request=request, actor_role=forecast.agency.member_role.value,
            agency=forecast.agency, object_type="forecast", object_id=forecast.pk,
            purpose=purpose.code, purpose_note=purpose.note,
            details={"model": forecast.model.name, "window_start": str(forecast.window_start),
                     "horizon_days": forecast.horizon_days, **describe(result)},
        )
    return result


def feature_collection(rows, flagged: int, places: list[dict] | None = None,
                       patrol: Patrol | None = None) -> str:
    """GeoJSON text from stored cell rows (rank, cell, score, expected, geometry text),
    with the number of flagged cells as the foreign member "flagged", the `patrol`
    selection ("plain" or "fair") as "selection" and the flagged cells' ranks as
    "flagged_ranks", and each cell's `places` entry (lat, lon, place) among its properties
    when given."""
    patrol = patrol or Patrol(PLAIN, flagged, tuple(range(1, flagged + 1)))
    parts = []
    for i, (rank, cell, score, expected, geometry) in enumerate(rows):
        properties = json.dumps({"rank": rank, "cell": cell, "score": round(score, 6),
                                 "expected": None if expected is None else round(expected, 4),
                                 **(places[i] if places else {})},
                                separators=(",", ":"))
        parts.append(f'{{"type":"Feature","geometry":{geometry},"properties":{properties}}}')
    head = json.dumps({"flagged": int(flagged), "selection": patrol.selection,
                       "band": patrol.band, "flagged_ranks": list(patrol.ranks)},
                      separators=(",", ":"))[1:-1]
    return '{"type":"FeatureCollection",' + head + ',"features":[' + ",".join(parts) + "]}"


def forecast_layer(forecast: Forecast, patrol: Patrol, *, gzipped: bool = False) -> bytes:
    """Every cell of a forecast as GeoJSON bytes (gzip-compressed when asked). The cells
    never change once written, so each (forecast, flagged cells, encoding) body is built
    once and kept in the cache."""
    chosen = hashlib.sha256(",".join(map(str, patrol.ranks)).encode()).hexdigest()[:16]
    key = (f"forecast-layer:{forecast.pk}:{patrol.selection}:{patrol.flagged}:{chosen}:"
           f"{'gz' if gzipped else 'raw'}")
    body = cache.get(key)
    if body is None:
        text = feature_collection(forecast.cells.values_list(
            "rank", "cell", "score", "expected_count", "geometry").iterator(2000),
            patrol.flagged, patrol=patrol)
        body = text.encode()
        if gzipped:
            body = gzip.compress(body, compresslevel=6, mtime=0)
        cache.set(key, body, timeout=LAYER_CACHE_SECONDS)
    return body


def accepts_gzip(request) -> bool:
    return "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "")


def geojson_response(body: bytes, gzipped: bool) -> HttpResponse:
    response = HttpResponse(body, content_type="application/geo+json")
    response["Vary"] = "Accept-Encoding"
    if gzipped:
        response["Content-Encoding"] = "gzip"
    return response


def layer_response(request, forecast: Forecast, purpose: Purpose, action: Action,
                   flagged: int, selection: str = PLAIN) -> HttpResponse:
    """Every cell of `forecast` as GeoJSON (gzip when the client takes it), `flagged` cells
    of the `selection` marked: read and recorded in one transaction (`audited_read`)."""
    gzipped = accepts_gzip(request)
    chosen = patrol(forecast, flagged, selection)
    body = audited_read(
        request, forecast, purpose, action,
        lambda: forecast_layer(forecast, chosen, gzipped=gzipped),
        lambda _: {"cells": forecast.n_cells, "flagged": flagged, **chosen.audit()},
    )
    return geojson_response(body, gzipped)
