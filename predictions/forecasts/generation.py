"""Writing forecasts: scores for every active cell of a window, from a trained model.

The window right after a run's training data is forecast by the run's stored model (sha256
checked); later windows refit the same method on every incident before them (the policy
``modelling.training.FORECAST_POLICY`` records). Each forecast says which fit it used.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import audit
from audit.events import Action
from predictions.bridge import (
    build_grid,
    fairness_layer,
    forecaster_for,
    groupings_for,
    json_safe,
    load_arrays,
    target_categories,
    to_events,
)
from predictions.forecasting import Events, Forecaster
from predictions.forecasting.evaluation import n_flagged
from predictions.forecasting.events import as_time, day_ceil
from predictions.forecasting.fair_selection import DEFAULT_BAND, select_cells
from predictions.forecasting.fairness import exposure
from predictions.forecasting.fairness_report import EXPOSURE_COVERAGES
from predictions.forecasts.explanations import store_explanations
from predictions.ingest.arrays import IncidentArrays
from predictions.model_files import load_model
from predictions.models import Forecast, ForecastCell, ForecastModel, TrainingRun


def fitted_forecaster(model: ForecastModel, run: TrainingRun, events: Events,
                      start: np.datetime64, target: list[str], grid) -> tuple[Forecaster, str]:
    """The forecaster for a window starting `start`, and which fit it is (``Forecast.Fit``).

    The stored model when it was fitted up to `start` on exactly the incidents now before
    `start` (its file is read only then); otherwise the method refitted on them.
    """
    if (run.data_end is not None and _fit_end(run, model.agency.timezone) == start
            and len(events.before(start)) == run.n_events):
        stored = load_model(run)
        if stored.until_ == start:
            return stored, Forecast.Fit.STORED
    return forecaster_for(model, grid, target).fit(events, start), Forecast.Fit.REFIT


def _fit_end(run: TrainingRun, zone: str) -> np.datetime64:
    """Where the run's fit ends: the local midnight after its last incident."""
    assert run.data_end is not None
    local = run.data_end.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return day_ceil(np.datetime64(local, "s"))


def forecast_fairness(model: ForecastModel, grid, active: np.ndarray,
                      scores: np.ndarray) -> dict[str, Any]:
    """Exposure of each group for the forecast's top cells, plain and fairness-aware."""
    layer = fairness_layer(model.agency)
    if layer is None:
        return {}
    band = tuple(layer.fairness_band or DEFAULT_BAND)
    out: dict[str, Any] = {"layer": layer.name, "band": list(band), "groupings": []}
    for name, groups in groupings_for(layer, grid):
        entry: dict[str, Any] = {"name": name, "groups": list(groups.names), "coverages": {}}
        residents = groups.residents[active]
        for cov in EXPOSURE_COVERAGES:
            k = n_flagged(cov, active.size)
            plain = select_cells(scores, residents, k, None)
            fair = select_cells(scores, residents, k, band)
            entry["coverages"][f"{cov * 100:g}%"] = {
                "cells": k,
                "exposure": exposure(groups, active, active[plain.chosen]),
                "fair_ratios": dict(zip(groups.names, fair.ratios, strict=True)),
                "fair_band_met": fair.met_requested,
                "fair_band": list(fair.band) if fair.band else None,
                "fair_score_share": fair.score_share,
                "fair_cells": sorted(int(c) for c in active[fair.chosen]),
            }
        out["groupings"].append(entry)
    return json_safe(out)




def generate_forecast(model_id: int, window_start: date,
                      arrays: IncidentArrays | None = None) -> Forecast | None:
    """The forecast of `model` for the window starting `window_start` (local date), fitted
    on every incident before it. Already there: returned as is. `arrays`: the agency's
    incidents when the caller has just read them (a training run), else read here."""
    model = ForecastModel.objects.select_related("agency").get(pk=model_id)
    existing = Forecast.objects.filter(model=model, window_start=window_start).first()
    if existing is not None:
        return existing
    run = model.latest_run()
    if run is None:
        return None
    target, _ = target_categories(model)
    arrays = load_arrays(model.agency) if arrays is None else arrays
    grid = build_grid(model.agency, arrays, model.cell_size_m)
    events = to_events(arrays, grid)
    start = as_time(np.datetime64(window_start.isoformat()))
    forecaster, fit = fitted_forecaster(model, run, events, start, target, grid)
    grid = forecaster.grid
    scores = forecaster.predict_grid(start, model.horizon_days)
    active = np.flatnonzero(forecaster.active_)
    active_scores = scores[active]
    order = np.lexsort((active, -active_scores))  # score desc, then cell index asc
    ranked = active[order]
    cols, rows = grid.index_to_col_row(ranked)
    polygons = grid.cell_polygons_lonlat(ranked)
    fairness = forecast_fairness(model, grid, active, active_scores)
    with transaction.atomic():
        forecast, created = Forecast.objects.get_or_create(
            model=model, window_start=window_start,
            defaults={"agency": model.agency, "run": run, "horizon_days": model.horizon_days,
                      "fairness": fairness, "fit": fit,
                      "grid": grid.spec(), "n_cells": int(ranked.size),
                      "expected_total": float(active_scores.sum())
                      if forecaster.gives_counts else 0.0},
        )
        if created:
            counts = bool(forecaster.gives_counts)
            ForecastCell.objects.bulk_create(
                [ForecastCell(forecast=forecast, cell=int(c), col=int(cl), row=int(rw),
                              rank=i + 1, score=float(scores[c]),
                              expected_count=float(scores[c]) if counts else None,
                              geometry=json.dumps(p, separators=(",", ":")))
                 for i, (c, cl, rw, p) in enumerate(zip(ranked, cols, rows, polygons,
                                                        strict=True))],
                batch_size=2000,
            )
            store_explanations(forecast, forecaster, start, ranked)
    return forecast


def purge_expired_forecasts(today: date | None = None) -> int:
    """Delete forecasts whose window started more than FORECAST_RETENTION_DAYS ago, each
    agency's deletion recorded in its audit trail. Returns the number deleted."""
    cutoff = (today or timezone.now().date()) - timedelta(days=settings.FORECAST_RETENTION_DAYS)
    deleted = 0
    expired = Forecast.objects.filter(window_start__lt=cutoff)
    for agency_id in expired.values_list("agency", flat=True).distinct():
        with transaction.atomic():
            rows = expired.filter(agency_id=agency_id)
            ids = list(rows.values_list("pk", flat=True))
            agency = rows.first().agency
            rows.delete()
            audit.record(action=Action.FORECAST_PURGE, actor=None, actor_role="system",
                         agency=agency, object_type="forecast", object_id="",
                         details={"forecasts": ids, "before": cutoff.isoformat(),
                                  "retention_days": settings.FORECAST_RETENTION_DAYS})
            deleted += len(ids)
    return deleted
