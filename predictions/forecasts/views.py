"""The forecast viewer: purpose of access, map, popups, ranked table and exports.
Every response that carries a prediction is recorded with its purpose (serving.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from agencies.access import get_agency_for_user
from agencies.roles import Role
from audit.events import Action
from common import maps
from common.csv_safe import csv_text
from predictions.access import get_forecast_for_user
from predictions.bridge import (
    cell_places,
    has_fairness_layer,
    target_categories,
    usable_incidents,
)
from predictions.charts import hit_rate_chart
from predictions.forecasts.explanations import describe, how
from predictions.forecasts.exposure import exposure_tables, forecast_exposure
from predictions.forecasts.patrol import (
    FAIR,
    SELECTIONS,
    Patrol,
    SelectionRefused,
    parse_selection,
    patrol,
)
from predictions.forecasts.purpose import PurposeForm, current_purpose, set_purpose
from predictions.forecasts.search import find
from predictions.forecasts.serving import (
    audited_read,
    coverage_cells,
    feature_collection,
    layer_response,
    parse_coverage,
)
from predictions.models import AreaLayer, Forecast, ForecastModel, Incident
from predictions.taxonomy import CATEGORIES

COVERAGES = [("0.01", "1 % of the area"), ("0.02", "2 %"), ("0.05", "5 %")]
TABLE_ROWS = 200
INCIDENT_DAYS = 28  # the incidents layer: the 4 weeks before the forecast window
INCIDENT_POINTS = 5000  # at most, newest first
NEED_PURPOSE = "State the purpose of access on the forecast page first."


def _coverage(request) -> tuple[float, int | None]:
    try:
        cells = int(request.GET.get("cells") or 0) or None
    except ValueError:
        cells = None
    try:
        coverage = parse_coverage(request.GET.get("coverage"))
    except ValueError as exc:
        raise BadRequest("coverage must be a number such as 0.01") from exc
    return coverage, cells


def _flagged(request, forecast: Forecast) -> int:
    """How many top cells the request's `coverage` or `cells` flags."""
    coverage, cells = _coverage(request)
    return coverage_cells(forecast, coverage, cells)


def _selection(request) -> str:
    """The request's patrol selection, "plain" (the default) or "fair"; 400 otherwise."""
    try:
        return parse_selection(request.GET.get("selection"))
    except SelectionRefused as exc:
        raise BadRequest(str(exc)) from exc


def _patrol(request, forecast: Forecast, flagged: int) -> Patrol:
    """The flagged cells of the request's selection; 400 when it cannot be served."""
    try:
        return patrol(forecast, flagged, _selection(request))
    except SelectionRefused as exc:
        raise BadRequest(str(exc)) from exc


def _chosen_forecast(agency, request) -> tuple[ForecastModel | None, Forecast | None]:
    try:
        model_id = int(request.GET.get("model") or 0)
        day = date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
    except ValueError as exc:
        raise BadRequest("model must be a model's number and date a YYYY-MM-DD date") from exc
    models = ForecastModel.objects.filter(agency=agency)
    model = models.filter(pk=model_id).first() or next(
        (m for m in models if m.forecasts.exists()), None)
    if model is None:
        return None, None
    forecasts = model.forecasts.all()
    chosen = forecasts.filter(window_start=day).first() if day else None
    return model, chosen or forecasts.first()


@login_required
@maps.draws_map
def forecast_map(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug)
    form = PurposeForm(request.POST or None, agency=agency)
    if request.method == "POST" and form.is_valid():
        set_purpose(request, agency, form.cleaned_data["purpose"], form.cleaned_data["note"])
        return redirect(request.get_full_path())
    purpose = current_purpose(request, agency)
    if purpose is None:
        return render(request, "predictions/purpose.html", {"agency": agency, "form": form},
                      status=400 if form.errors else 200)
    model, forecast = _chosen_forecast(agency, request)
    if forecast is None:
        return render(request, "predictions/forecast_map.html",
                      {"agency": agency, "purpose": purpose, "forecast": None})
    forecast.agency = agency
    coverage, cells = _coverage(request)
    flagged = coverage_cells(forecast, coverage, cells)
    chosen = _patrol(request, forecast, flagged)
    top = audited_read(
        request, forecast, purpose, Action.FORECAST_VIEW,
        lambda: list(forecast.cells.filter(rank__in=chosen.ranks[:TABLE_ROWS])
                     .values("rank", "cell", "col", "row", "score", "expected_count")),
        lambda rows: {"cells": len(rows), "flagged": flagged, **chosen.audit()},
    )
    for row, where in zip(top, cell_places(agency, forecast.grid, [r["cell"] for r in top]),
                          strict=True):
        row.update(where)
    run = forecast.run
    sees_incidents = agency.member_role.at_least(Role.ANALYST)
    return render(request, "predictions/forecast_map.html", {
        "agency": agency, "purpose": purpose, "forecast": forecast, "model": model,
        "models": ForecastModel.objects.filter(agency=agency),
        "history": model.forecasts.values_list("window_start", flat=True)[:60],
        "window_end": forecast.window_start + timedelta(days=forecast.horizon_days),
        "top": top, "flagged": flagged, "coverage": coverage, "cells": cells,
        "patrol": chosen, "selections": SELECTIONS.items(),
        "has_fairness_layer": chosen.selection == FAIR or has_fairness_layer(agency),
        "patrol_ratios": _ratio_rows(chosen),
        "coverages": COVERAGES, "card": run.model_card, "chart": hit_rate_chart(run.metrics),
        "cells_url": reverse("forecast-cells", args=[slug, forecast.pk]),
        "incidents_url": reverse("forecast-incidents", args=[slug, forecast.pk])
        if sees_incidents else None,
        "incident_days": INCIDENT_DAYS, "explained_how": how(forecast),
        "exposure_rows": exposure_tables(forecast_exposure(forecast)),
        "query": request.GET.urlencode(),
        "boundary": agency.boundary,
        "tiles": maps.tiles(),
        "reference_url": _reference_url(agency),
        "search_url": reverse("forecast-search", args=[slug, forecast.pk]),
    })


def _ratio_rows(chosen: Patrol) -> list[dict]:
    """The fair selection's exposure ratio of each group, grouping by grouping."""
    return [{"name": name, "groups": [{"group": g, "ratio": r,
                                       "plain": chosen.plain_ratios.get(name, {}).get(g)}
                                      for g, r in ratios.items()]}
            for name, ratios in chosen.ratios.items()]


def _reference_url(agency) -> str:
    """Where the map fetches the reference layer's outlines ("" without one)."""
    layer = AreaLayer.objects.filter(agency=agency, use_as_reference=True).only("pk").first()
    return reverse("layer-outlines", args=[agency.slug, layer.pk]) if layer else ""


def _purpose_or_403(request, forecast):
    purpose = current_purpose(request, forecast.agency)
    return purpose, None if purpose else JsonResponse({"detail": NEED_PURPOSE}, status=403)


@login_required
@require_GET
def forecast_cells(request: HttpRequest, slug: str, forecast_id: int) -> HttpResponse:
    """All active cells as GeoJSON (the map layer), flagged ones marked."""
    forecast = get_forecast_for_user(request, slug, forecast_id)
    purpose, refusal = _purpose_or_403(request, forecast)
    if refusal:
        return refusal
    selection = _selection(request)
    try:
        return layer_response(request, forecast, purpose, Action.FORECAST_MAP_LAYER,
                              _flagged(request, forecast), selection)
    except SelectionRefused as exc:
        raise BadRequest(str(exc)) from exc


@login_required
@require_GET
def forecast_cell(request: HttpRequest, slug: str, forecast_id: int, rank: int) -> JsonResponse:
    """One cell's popup: rank, score and why (recent incidents in and around it, and the
    model's own reasons stored with the forecast: predictions.forecasts.explanations)."""
    forecast = get_forecast_for_user(request, slug, forecast_id)
    purpose, refusal = _purpose_or_403(request, forecast)
    if refusal:
        return refusal

    def read():
        cell = forecast.cells.filter(rank=rank).values(
            "rank", "cell", "col", "row", "score", "expected_count", "geometry",
            "explanation").first()
        if cell is None:
            return None
        return {**cell, "recent": recent_nearby(forecast, cell)}

    data = audited_read(request, forecast, purpose, Action.FORECAST_CELL, read,
                        lambda d: {"rank": rank, "found": d is not None})
    if data is None:
        return JsonResponse({"detail": "No such cell."}, status=404)
    data.pop("geometry")
    data.update(cell_places(forecast.agency, forecast.grid, [data["cell"]])[0])
    data["of_cells"] = forecast.n_cells
    data["explanation"] = describe(forecast, data["rank"], data["explanation"])
    return JsonResponse(data)


@login_required
@require_GET
def forecast_search(request: HttpRequest, slug: str, forecast_id: int) -> JsonResponse:
    """Find a place on the forecast map: reference areas by name and the agency's recorded
    incident addresses. Addresses are incident data: the search is recorded like a read."""
    forecast = get_forecast_for_user(request, slug, forecast_id)
    purpose, refusal = _purpose_or_403(request, forecast)
    if refusal:
        return refusal
    query = request.GET.get("q", "")
    data = audited_read(request, forecast, purpose, Action.FORECAST_SEARCH,
                        lambda: find(forecast.agency, query),
                        lambda d: {"query": d["query"], "results": len(d["results"])})
    return JsonResponse(data)


def recent_nearby(forecast: Forecast, cell: dict, days: int = 28) -> dict:
    """Incidents in the 28 days before the window within the cell and its 8 neighbours."""
    import json

    ring = json.loads(cell["geometry"])["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    dlon, dlat = max(lons) - min(lons), max(lats) - min(lats)
    start = forecast.window_start
    rows = (
        Incident.objects.filter(
            agency=forecast.agency, cancelled=False,
            lon__gte=min(lons) - dlon, lon__lte=max(lons) + dlon,
            lat__gte=min(lats) - dlat, lat__lte=max(lats) + dlat,
            occurred_at__date__gte=start - timedelta(days=days), occurred_at__date__lt=start,
        ).values("category").annotate(n=Count("id")).order_by("-n")
    )
    by_category = {r["category"] or "unmapped": r["n"] for r in rows}
    return {"days": days, "by_category": by_category,
            "labels": {c: CATEGORIES[c].label if c in CATEGORIES else "Unmapped"
                       for c in by_category}}


@login_required
@require_GET
def forecast_incidents(request: HttpRequest, slug: str, forecast_id: int) -> HttpResponse:
    """The optional incidents layer: the agency's incidents of the forecast's categories in
    the 28 days before its window, as GeoJSON points. Incidents are tenant data for analysts
    (as in the API); served with the forecast, the read is recorded with its purpose."""
    forecast = get_forecast_for_user(request, slug, forecast_id, min_role=Role.ANALYST)
    purpose, refusal = _purpose_or_403(request, forecast)
    if refusal:
        return refusal
    data = audited_read(request, forecast, purpose, Action.FORECAST_INCIDENTS,
                        lambda: recent_incidents(forecast),
                        lambda d: {"incidents": len(d["features"]), "days": d["days"],
                                   "categories": d["categories"]})
    return JsonResponse(data, content_type="application/geo+json")


def recent_incidents(forecast: Forecast, days: int = INCIDENT_DAYS,
                     limit: int = INCIDENT_POINTS) -> dict:
    """Located, not cancelled incidents of the model's target categories in the `days`
    local days before the window, newest first (at most `limit`)."""
    categories, _ = target_categories(forecast.model)
    zone = ZoneInfo(forecast.agency.timezone)
    end = datetime.combine(forecast.window_start, time.min, zone)
    start = datetime.combine(forecast.window_start - timedelta(days=days), time.min, zone)
    rows = list(usable_incidents(forecast.agency).filter(
        category__in=categories, occurred_at__gte=start, occurred_at__lt=end,
    ).order_by("-occurred_at", "-id").values_list("occurred_at", "lon", "lat", "category")[
        :limit + 1])
    features = [
        {"type": "Feature", "geometry": {"type": "Point",
                                         "coordinates": [round(lon, 5), round(lat, 5)]},
         "properties": {"category": CATEGORIES[category].label,
                        "date": at.astimezone(zone).date().isoformat()}}
        for at, lon, lat, category in rows[:limit]]
    return {"type": "FeatureCollection", "days": days, "from": start.date().isoformat(),
            "to": forecast.window_start.isoformat(), "categories": sorted(categories),
            "truncated": len(rows) > limit, "features": features}


@login_required
@require_GET
def forecast_export(request: HttpRequest, slug: str, forecast_id, fmt: str) -> HttpResponse:
    """The flagged cells as CSV (formula-safe) or GeoJSON."""
    forecast = get_forecast_for_user(request, slug, forecast_id)
    purpose, refusal = _purpose_or_403(request, forecast)
    if refusal:
        return refusal
    flagged = _flagged(request, forecast)
    chosen = _patrol(request, forecast, flagged)
    rows = forecast.cells.filter(rank__in=chosen.ranks)

    def read():
        if fmt == "geojson":
            cells = list(rows.values_list("rank", "cell", "score", "expected_count", "geometry"))
            where = cell_places(forecast.agency, forecast.grid, [c[1] for c in cells])
            return feature_collection(cells, flagged, where, chosen)
        cells = list(rows.values_list("rank", "cell", "col", "row", "score", "expected_count"))
        where = cell_places(forecast.agency, forecast.grid, [c[1] for c in cells])
        return csv_text(
            ["rank", "cell", "col", "row", "lat", "lon", "place", "nearest_address", "score",
             "expected_count", "window_start", "horizon_days", "model", "selection"],
            ((r, c, col, row, w["lat"], w["lon"], w["place"], w["address"], s, e,
              forecast.window_start, forecast.horizon_days, forecast.model.name,
              chosen.selection)
             for (r, c, col, row, s, e), w in zip(cells, where, strict=True)),
        )

    body = audited_read(request, forecast, purpose, Action.FORECAST_EXPORT, read,
                        lambda _: {"cells": flagged, "format": fmt, **chosen.audit()})
    suffix = "-fair" if chosen.selection == FAIR else ""
    name = f"forecast-{forecast.model_id}-{forecast.window_start}{suffix}.{fmt}"
    response = HttpResponse(body, content_type="application/geo+json" if fmt == "geojson"
                            else "text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
