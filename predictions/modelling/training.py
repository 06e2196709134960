"""Training runs: backtest, fit, store, describe.

A run backtests the model against the baselines on the agency's own data (validation
windows choose a method, the later test windows report it: forecasting.selection), fits it on
everything, stores the fitted model (with its sha256) and a model card, and writes the
forecast for the window right after the data from that stored model. Runs can run twice.
"""

from __future__ import annotations

import itertools
import logging
from datetime import date, datetime
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

import audit
from audit.events import Action
from predictions.bridge import (
    build_grid,
    data_manifest,
    data_screen,
    fairness_layer,
    forecaster_for,
    groupings_for,
    json_safe,
    load_arrays,
    model_covariates,
    target_categories,
    to_events,
)
from predictions.forecasting import run_backtest
from predictions.forecasting.events import day_ceil
from predictions.forecasting.fair_selection import DEFAULT_BAND
from predictions.forecasting.fairness_report import (
    TRADEOFF_BANDS,
    fairness_report,
)
from predictions.forecasting.history import history_start
from predictions.forecasting.registry import baselines
from predictions.forecasting.selection import MIN_HISTORY_DAYS, recommend, split_origins
from predictions.forecasts.generation import generate_forecast
from predictions.jobs import claim
from predictions.model_files import store_model
from predictions.models import TrainingRun

log = logging.getLogger(__name__)

# Every model is compared with the baselines its methods declare (Method.baseline): the
# published classical methods in their usual settings, plus longer-memory variants.
BASELINES: dict[str, dict[str, Any]] = baselines()
# Windows per run: the validation windows choose the method (selection.recommend), the test
# windows after them, the most recent, report it; together a year of weekly windows.
BACKTEST_WINDOWS = {1: 28, 7: 26, 28: 6}  # as many validation windows as test windows
# The fairness report's trade-off curve (one programme per window, band and coverage) over
# this many test windows, evenly spread: the report's costly part (St. Louis, 26 windows:
# about a minute; 6: about a quarter of it)
TRADEOFF_WINDOWS = 6
LIMITATIONS = [
    "Forecasts describe where recorded crime is likely, not where crime is: they inherit "
    "every bias of what is reported and recorded.",
    "Forecasts are not grounds for a stop or a search of any person.",
    "Scores are for areas of one cell over the stated window; they say nothing about people.",
    "Accuracy is measured on this agency's own past data (backtest below); it can change "
    "when policing or reporting practice changes.",
]


# How forecasts use the stored model (recorded in every model card; each forecast says which).
FORECAST_POLICY = (
    "The forecast for the window right after the training data is made by the stored model "
    "itself (its file's sha256 checked before use). Later windows, and any window whose "
    "earlier data changed since training, refit the same method with the same parameters on "
    "every incident before the window, so that recent incidents count."
)


class TrainingError(RuntimeError):
    pass


def _claim(run_id: int) -> TrainingRun | None:
    return claim(TrainingRun.objects.select_related("model", "agency"), run_id,
                 running=TrainingRun.Status.RUNNING, skip=(TrainingRun.Status.DONE,))


def run_training(run_id: int, windows: int | None = None,
                 validation_windows: int | None = None) -> TrainingRun | None:
    """Backtest over validation then test windows (default by horizon), recommend a method
    (predictions.forecasting.selection), fit, store, forecast."""
    run = _claim(run_id)
    if run is None:
        return None
    model, agency = run.model, run.agency
    stage = Stages(run.pk)
    try:
        target, excluded = target_categories(model)
        stage.set("Reading the incidents", 1)
        arrays = load_arrays(agency)
        if arrays.times.size < 50:
            raise TrainingError(f"Only {arrays.times.size} usable incidents: import more data.")
        grid = build_grid(agency, arrays, model.cell_size_m)
        events = to_events(arrays, grid)
        until = day_ceil(arrays.times.max())
        h = model.horizon_days
        n_test = windows or BACKTEST_WINDOWS.get(h, 8)
        n_validation = validation_windows or windows or BACKTEST_WINDOWS.get(h, 8)
        first = history_start(arrays.times)  # stray old records do not stretch it
        try:
            val_starts, test_starts = split_origins(first, until, h, n_validation, n_test)
        except ValueError:
            days = int((until - first) // np.timedelta64(1, "D"))
            raise TrainingError(
                f"Too little history to backtest: the incidents run steadily from "
                f"{str(first)[:10]} for {days} days, and a {h}-day model needs "
                f"{MIN_HISTORY_DAYS + 2 * h} ({MIN_HISTORY_DAYS} days before a validation and "
                f"a test window). Import earlier months.") from None
        starts = np.concatenate([val_starts, test_starts])
        covariates = model_covariates(model, grid)
        methods = [(label, params) for label, params in BASELINES.items()
                   if label != model.method]
        # a baseline method is backtested in the comparison's settings (refitted at every
        # window from the previous fit); the stored model is fitted with its own
        methods.append((model.method, {**BASELINES.get(model.method, {}), **model.parameters,
                                       **covariates}))
        candidates = [model.method]
        if covariates:  # does the context help? the same method without it, side by side
            methods.append((f"{model.method} without covariates",
                            {**model.parameters, "method": model.method}))
            candidates.append(f"{model.method} without covariates")
        layer = fairness_layer(agency)
        groupings = groupings_for(layer, grid) if layer is not None else []
        stage.plan(backtest=len(starts), fairness=len(groupings))

        windows_done = itertools.count(1)

        def progress(_label: str) -> None:
            done = next(windows_done)
            stage.backtest(done, len(starts), "validation" if done <= len(val_starts) else "test")

        backtest = run_backtest(events, grid, methods, starts, h, target=target,
                                progress=progress, export=layer is not None)
        n_val = len(val_starts)
        validation = list(range(n_val))
        test = list(range(n_val, len(starts)))
        selection = json_safe(recommend(backtest, baselines=list(BASELINES),
                                        candidates=candidates, validation=validation,
                                        test=test))
        held_out = backtest.windows(test)
        metrics = json_safe(held_out.summary())
        fairness = run_fairness(layer, grid, held_out, model.method, groupings, stage)
        stage.set("Fitting the final model on every incident", 95)
        forecaster = forecaster_for(model, grid, target, covariates).fit(events, until)
        artifact, sha256 = store_model(run, forecaster)
        manifest = {**data_manifest(agency, excluded), "data_screen": data_screen(model)}
        card = model_card(model, run, metrics, manifest, arrays, grid,
                          [str(s) for s in held_out.starts])
        card["validation_windows"] = [str(s) for s in backtest.starts[:n_val]]
        card["selection"] = selection
        card["covariates"] = list(covariates.get("covariate_names", ()))
        card["fairness"] = fairness
        card["forecast_policy"] = FORECAST_POLICY
        with transaction.atomic():
            TrainingRun.objects.filter(pk=run.pk).update(
                status=TrainingRun.Status.DONE, progress=100, metrics=metrics, model_card=card,
                selection=selection, stage="Done",
                data_start=_aware(arrays.times.min(), agency.timezone),
                data_end=_aware(arrays.times.max(), agency.timezone),
                n_events=int(arrays.times.size), artifact_path=str(artifact),
                artifact_sha256=sha256, finished_at=timezone.now(),
            )
            audit.record(
                action=Action.MODEL_TRAIN, actor=run.started_by, actor_role="system",
                agency=agency, object_type="training_run", object_id=run.pk,
                details={"model": model.name, "events": int(arrays.times.size),
                         "windows": len(starts), "validation_windows": n_val,
                         "recommended": selection["recommended"],
                         "best_baseline": selection["best_baseline"]},
            )
    except Exception as exc:
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.FAILED, error_message=str(exc)[:2000],
            finished_at=timezone.now())
        if isinstance(exc, TrainingError | ValueError):
            return None
        raise
    run.refresh_from_db()
    generate_forecast(model.pk, _to_date(until), arrays=arrays)
    return run


class Stages:
    """What a run is doing, in words with counts, and how far it is (its progress bar):
    reading 1 %, the backtest's windows up to 80 %, the fairness report's groupings up to
    94 %, the final fit 95 %."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id

    def set(self, text: str, percent: int) -> None:
        TrainingRun.objects.filter(pk=self.run_id).update(stage=text[:120],
                                                          progress=int(percent))

    def plan(self, *, backtest: int, fairness: int) -> None:
        self.backtest_end = 80 if fairness else 94
        self.set(f"Backtest window 0 of {backtest}", 2)

    def backtest(self, done: int, total: int, period: str) -> None:
        self.set(f"Backtest window {done} of {total} ({period})",
                 2 + int((self.backtest_end - 2) * done / max(total, 1)))

    def fairness(self, done: int, total: int, name: str) -> None:
        self.set(f"Fairness report: grouping {done} of {total} ({name})",
                 80 + int(14 * (done - 1) / max(total, 1)))


def run_fairness(layer, grid, backtest, method: str, groupings=None,
                 stage: Stages | None = None) -> dict[str, Any] | None:
    """The fairness report of every grouping of the agency's fairness layer (None: no layer)."""
    if layer is None:
        return None
    out: dict[str, Any] = {"layer": layer.name, "population_attribute":
                           layer.population_attribute, "band": layer.fairness_band,
                           "reports": []}
    band = tuple(layer.fairness_band or DEFAULT_BAND)
    bands = tuple(dict.fromkeys([*TRADEOFF_BANDS, band]))
    groupings = groupings_for(layer, grid) if groupings is None else groupings
    for i, (name, groups) in enumerate(groupings, 1):
        if stage is not None:
            stage.fairness(i, len(groupings), name)
        report = fairness_report(backtest, method, groups, name, band=band, bands=bands,
                                 tradeoff_windows=TRADEOFF_WINDOWS)
        out["reports"].append(json_safe(report))
    return out


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
        "grid": {**grid.spec(), "active_cells": int(grid.active_mask(None).sum())
                 if grid.boundary is not None else None},
        "backtest": {"windows": windows, "methods": metrics,
                     "how": "rolling origin: for each window the methods are fitted only on "
                            "incidents before its start, then scored on the window"},
        "intended_use": "Deciding where patrols and prevention spend their time, together "
                        "with local knowledge. Forecasts are not grounds for a stop or a search.",
        "limitations": LIMITATIONS,
    })


