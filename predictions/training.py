"""Training runs and forecasts: the portal's side of the engine.

A run backtests the model against the baselines and the oracle on the agency's own data,
fits it on everything, stores the fitted model (with its sha256) and a model card, and
writes the forecast for the window right after the data. Tasks take ids and can run twice.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import audit
from agencies.access import role_of
from predictions.engine_data import (
    build_grid,
    data_manifest,
    grid_dict,
    json_safe,
    load_arrays,
    to_events,
)
from predictions.forecasting import (
    METHODS,
    ML_METHODS,
    make_forecaster,
    rolling_origins,
    run_backtest,
)
from predictions.forecasting.baselines import LONG_MEMORY_KDE
from predictions.forecasting.evaluation import n_flagged
from predictions.forecasting.events import as_time, day_ceil
from predictions.forecasting.fair_selection import DEFAULT_BAND, select_cells
from predictions.forecasting.fairness import exposure
from predictions.forecasting.fairness_report import (
    EXPOSURE_COVERAGES,
    TRADEOFF_BANDS,
    fairness_report,
)
from predictions.ingest import CATEGORIES, ENFORCEMENT_DRIVEN
from predictions.jobs import claim
from predictions.layers import covariates_for, fairness_layer, groupings_for
from predictions.models import Forecast, ForecastCell, ForecastModel, TrainingRun

log = logging.getLogger(__name__)

# Every model is compared with these on the agency's own data: the published classical
# methods in their usual settings, plus longer-memory settings that are hard to beat.
BASELINES: dict[str, dict[str, Any]] = {
    "uniform": {},
    "recent_counts": {},
    "recent_counts_365": {"method": "recent_counts", "days": 365},
    "kde": {},
    "kde_long": {"method": "kde", **LONG_MEMORY_KDE},
    "prospective_hotspot": {},
    "sepp": {},
}
BACKTEST_WINDOWS = {1: 28, 7: 12, 28: 6}
LIMITATIONS = [
    "Forecasts describe where recorded crime is likely, not where crime is: they inherit "
    "every bias of what is reported and recorded.",
    "Forecasts are not grounds for a stop or a search of any person.",
    "Scores are for areas of one cell over the stated window; they say nothing about people.",
    "Accuracy is measured on this agency's own past data (backtest below); it can change "
    "when policing or reporting practice changes.",
]


class TrainingError(RuntimeError):
    pass


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
        return [c for c in CATEGORIES], {}
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


@transaction.atomic
def do_start_training(model: ForecastModel, *, acting_user) -> TrainingRun:
    if model.method not in METHODS:
        raise TrainingError(f"Unknown method {model.method!r}.")
    run = TrainingRun.objects.create(agency=model.agency, model=model, started_by=acting_user)
    audit.record(
        action="model.train_start", actor=acting_user,
        actor_role=role_of(acting_user, model.agency), agency=model.agency,
        object_type="training_run", object_id=run.pk,
        details={"model": model.name, "method": model.method, "category": model.category,
                 "horizon_days": model.horizon_days},
    )
    transaction.on_commit(lambda: _queue("train_model", run.pk))
    return run


def _queue(task_name: str, *args) -> None:
    from predictions import tasks

    getattr(tasks, task_name).delay(*args)


def _claim(run_id: int) -> TrainingRun | None:
    return claim(TrainingRun.objects.select_related("model", "agency"), run_id,
                 running=TrainingRun.Status.RUNNING, skip=(TrainingRun.Status.DONE,))


def _covariates(model: ForecastModel, grid) -> dict[str, Any]:
    """``covariates``/``covariate_names`` parameters when the model uses the agency's layers."""
    if not (model.use_covariates and model.method in ML_METHODS):
        return {}
    matrix, names = covariates_for(model.agency, grid)
    if matrix is None:
        return {}
    return {"covariates": matrix, "covariate_names": names}


def _forecaster(model: ForecastModel, grid, target, covariates: dict | None = None):
    """The model's forecaster; `covariates` as `_covariates` gives them (built if None)."""
    if covariates is None:
        covariates = _covariates(model, grid)
    params = {**model.parameters, **covariates}
    forecaster = make_forecaster(model.method, grid=grid, target=target, **params)
    if "horizon_days" in forecaster.get_params():
        forecaster.set_params(horizon_days=model.horizon_days)
    return forecaster


def run_training(run_id: int, windows: int | None = None) -> TrainingRun | None:
    """Backtest over `windows` windows (default by horizon), fit, store, forecast."""
    run = _claim(run_id)
    if run is None:
        return None
    model, agency = run.model, run.agency
    try:
        target, excluded = target_categories(model)
        arrays = load_arrays(agency)
        if arrays.times.size < 50:
            raise TrainingError(f"Only {arrays.times.size} usable incidents: import more data.")
        grid = build_grid(agency, arrays, model.cell_size_m)
        events = to_events(arrays, grid)
        until = day_ceil(arrays.times.max())
        h = model.horizon_days
        n_windows = windows or BACKTEST_WINDOWS.get(h, 8)
        starts = rolling_origins(until - np.timedelta64(n_windows * h, "D"), until, h)
        covariates = _covariates(model, grid)
        methods = [(label, params) for label, params in BASELINES.items()
                   if label != model.method]
        methods.append((model.method, {**model.parameters, **covariates}))
        if covariates:  # does the context help? the same method without it, side by side
            methods.append((f"{model.method} without covariates",
                            {**model.parameters, "method": model.method}))
        layer = fairness_layer(agency)

        def progress(_label: str, done=[0]) -> None:  # noqa: B006 - a counter across calls
            done[0] += 1
            TrainingRun.objects.filter(pk=run.pk).update(
                progress=min(90, int(90 * done[0] / max(len(starts), 1))))

        backtest = run_backtest(events, grid, methods, starts, h, target=target,
                                progress=progress, export=layer is not None)
        metrics = json_safe(backtest.summary())
        fairness = run_fairness(layer, grid, backtest, model.method)
        forecaster = _forecaster(model, grid, target, covariates).fit(events, until)
        artifact = Path(settings.MODEL_ROOT) / str(agency.pk) / f"run-{run.pk}.pkl"
        artifact.parent.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps(forecaster, protocol=pickle.HIGHEST_PROTOCOL)
        artifact.write_bytes(blob)
        manifest = {**data_manifest(agency, excluded), "data_screen": data_screen(model)}
        card = model_card(model, run, metrics, manifest, arrays, grid,
                          [str(s) for s in backtest.starts])
        card["covariates"] = list(covariates.get("covariate_names", ()))
        card["fairness"] = fairness
        with transaction.atomic():
            TrainingRun.objects.filter(pk=run.pk).update(
                status=TrainingRun.Status.DONE, progress=100, metrics=metrics, model_card=card,
                data_start=_aware(arrays.times.min(), agency.timezone),
                data_end=_aware(arrays.times.max(), agency.timezone),
                n_events=int(arrays.times.size), artifact_path=str(artifact),
                artifact_sha256=hashlib.sha256(blob).hexdigest(), finished_at=timezone.now(),
            )
            audit.record(
                action="model.train", actor=run.started_by, actor_role="system",
                agency=agency, object_type="training_run", object_id=run.pk,
                details={"model": model.name, "events": int(arrays.times.size),
                         "windows": len(starts)},
            )
    except Exception as exc:
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.FAILED, error_message=str(exc)[:2000],
            finished_at=timezone.now())
        if isinstance(exc, TrainingError | ValueError):
            return None
        raise
    run.refresh_from_db()
    generate_forecast(model.pk, _to_date(until))
    return run


def run_fairness(layer, grid, backtest, method: str) -> dict[str, Any] | None:
    """The fairness report of every grouping of the agency's fairness layer (None: no layer)."""
    if layer is None:
        return None
    out: dict[str, Any] = {"layer": layer.name, "population_attribute":
                           layer.population_attribute, "band": layer.fairness_band,
                           "reports": []}
    band = tuple(layer.fairness_band or DEFAULT_BAND)
    bands = tuple(dict.fromkeys([*TRADEOFF_BANDS, band]))
    for name, groups in groupings_for(layer, grid):
        report = fairness_report(backtest, method, groups, name, band=band, bands=bands)
        out["reports"].append(json_safe(report))
    return out


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


def _aware(value: np.datetime64, zone: str) -> datetime:
    from zoneinfo import ZoneInfo

    naive = value.astype("datetime64[s]").astype(datetime)
    return naive.replace(tzinfo=ZoneInfo(zone))


def _to_date(value: np.datetime64) -> date:
    return value.astype("datetime64[D]").astype(date)


def model_card(model, run, metrics, manifest, arrays, grid, windows) -> dict[str, Any]:
    """The stored, shown summary of what the model is, was trained on and how good it is."""
    return json_safe({
        "model": {"name": model.name, "method": model.method, "parameters": model.parameters,
                  "target": model.target_label, "horizon_days": model.horizon_days,
                  "cell_size_m": model.cell_size_m},
        "data": {**manifest, "events_used": int(arrays.times.size),
                 "span_local": [str(arrays.times.min()), str(arrays.times.max())]},
        "grid": {**grid_dict(grid), "active_cells": int(grid.active_mask(None).sum())
                 if grid.boundary is not None else None},
        "backtest": {"windows": windows, "methods": metrics,
                     "how": "rolling origin: for each window the methods are fitted only on "
                            "incidents before its start, then scored on the window"},
        "intended_use": "Deciding where patrols and prevention spend their time, together "
                        "with local knowledge. Forecasts are not grounds for a stop or a search.",
        "limitations": LIMITATIONS,
    })


def generate_forecast(model_id: int, window_start: date) -> Forecast | None:
    """The forecast of `model` for the window starting `window_start` (local date), fitted
    on every incident before it. Already there: returned as is."""
    model = ForecastModel.objects.select_related("agency").get(pk=model_id)
    existing = Forecast.objects.filter(model=model, window_start=window_start).first()
    if existing is not None:
        return existing
    run = model.latest_run()
    if run is None:
        return None
    target, _ = target_categories(model)
    arrays = load_arrays(model.agency)
    grid = build_grid(model.agency, arrays, model.cell_size_m)
    events = to_events(arrays, grid)
    start = as_time(np.datetime64(window_start.isoformat()))
    forecaster = _forecaster(model, grid, target).fit(events, start)
    scores = forecaster.predict_grid(start, model.horizon_days)
    active = np.flatnonzero(forecaster.active_)
    active_scores = scores[active]
    order = np.lexsort((active, -active_scores))  # score desc, then cell index asc
    ranked = active[order]
    cols, rows = grid.index_to_col_row(ranked)
    polygons = grid.cell_polygons_lonlat(ranked)
    import json

    fairness = forecast_fairness(model, grid, active, active_scores)
    with transaction.atomic():
        forecast, created = Forecast.objects.get_or_create(
            model=model, window_start=window_start,
            defaults={"agency": model.agency, "run": run, "horizon_days": model.horizon_days,
                      "fairness": fairness,
                      "grid": grid_dict(grid), "n_cells": int(ranked.size),
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
            from predictions.explanations import store_explanations

            store_explanations(forecast, forecaster, start, ranked)
    return forecast


def regenerate_all(today: date | None = None) -> int:
    """Queue today's forecast for every active model that has been trained."""
    queued = 0
    for model in ForecastModel.objects.filter(active=True, runs__status="done").distinct():
        from zoneinfo import ZoneInfo

        local_today = today or timezone.now().astimezone(ZoneInfo(model.agency.timezone)).date()
        _queue("make_forecast", model.pk, local_today.isoformat())
        queued += 1
    return queued


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
            audit.record(action="forecast.purge", actor=None, actor_role="system",
                         agency=agency, object_type="forecast", object_id="",
                         details={"forecasts": ids, "before": cutoff.isoformat(),
                                  "retention_days": settings.FORECAST_RETENTION_DAYS})
            deleted += len(ids)
    return deleted


def window_dates(forecast: Forecast) -> tuple[date, date]:
    return forecast.window_start, forecast.window_start + timedelta(days=forecast.horizon_days)
