"""Scoring an issued forecast once its window has closed, and keeping the score.

A forecast is due when its window ``[window_start, window_start + horizon)`` (local days of
the agency) has ended and the agency's records reach past that end (an import holds an
incident from the end on), so that a late upload does not score it against missing data.

It is scored on the cells it ranked, in the order its readers saw them (its stored ranks),
against the incidents of its target in its window; the baseline the agency would otherwise
have used (``forecasting.scoring.BASELINE_METHOD``, the last four weeks' counts) is fitted
only on incidents before the window and ranked on the same cells. Coverages: the one its
readers viewed (the number of flagged cells its recorded reads before the window's end
named most often; the map's default 1 % when nobody read it) and 1, 2 and 5 %. The
exposure of each group of residents (the fairness layer's groupings) is kept for the
coverage viewed.

One score per forecast (a unique constraint on model and window): scoring twice, or twice
at once, keeps the first. The score row is written in one transaction or not at all, and
outlives the forecast's deletion after retention.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.events import Action
from audit.models import AccessEvent
from predictions.bridge import (
    fairness_layer,
    groupings_for,
    json_safe,
    load_arrays,
    target_categories,
    to_events,
    usable_incidents,
)
from predictions.forecasting import Grid
from predictions.forecasting.events import as_time
from predictions.forecasting.scoring import (
    BASELINE_METHOD,
    BASELINE_PARAMS,
    baseline_scores,
    coverages_with_viewed,
    flagged_exposure,
    score_window,
    window_truth,
)
from predictions.forecasts.serving import coverage_cells
from predictions.models import Forecast, ForecastScore

# The reads whose recorded details name the number of cells flagged (the map page, its
# layer, the API's cells): the coverage a reader viewed.
READ_ACTIONS = (Action.FORECAST_VIEW, Action.FORECAST_MAP_LAYER, Action.FORECAST_API_CELLS)
DEFAULT_COVERAGE = 0.01  # the map's and the API's default (forecasts.serving.parse_coverage)
# How much history the baseline reads before the window (its 28 days, and a day's margin).
BASELINE_HISTORY_DAYS = int(BASELINE_PARAMS["days"]) + 1


class NotDue(Exception):
    """The forecast cannot be scored yet: its window is open or its data has not arrived."""


def window_bounds(window_start: date, horizon_days: int, zone: str) -> tuple[datetime, datetime]:
    """The window's start and end as aware times (local midnights of the agency)."""
    tz = ZoneInfo(zone)
    return (datetime.combine(window_start, time.min, tz),
            datetime.combine(window_start + timedelta(days=horizon_days), time.min, tz))


def coverage_viewed(forecast: Forecast, until: datetime) -> tuple[int, str, int]:
    """(flagged cells, ``ForecastScore.CoverageSource``, reads counted): the number of
    flagged cells the forecast's recorded reads before `until` (its window's end: the
    reads that could guide patrols, not a later look back) named most often (ties: the
    fewer cells), or the default coverage's when none did."""
    details = AccessEvent.objects.filter(
        agency_id=forecast.agency_id, object_type="forecast", object_id=str(forecast.pk),
        action__in=READ_ACTIONS, at__lt=until).values_list("details", flat=True)
    named = Counter(min(max(int(d["flagged"]), 1), forecast.n_cells) for d in details
                    if isinstance(d, dict) and isinstance(d.get("flagged"), int))
    if not named:
        return (coverage_cells(forecast, DEFAULT_COVERAGE, None),
                ForecastScore.CoverageSource.DEFAULT, 0)
    flagged, _ = max(named.items(), key=lambda item: (item[1], -item[0]))
    return flagged, ForecastScore.CoverageSource.VIEWED, sum(named.values())


def last_record(agency) -> datetime | None:
    """When the agency's latest usable incident occurred (None without any)."""
    return usable_incidents(agency).aggregate(last=Max("occurred_at"))["last"]


def not_due(forecast: Forecast, end: datetime, now: datetime,
            last: datetime | None) -> str | None:
    """Why the forecast (its window ending at `end`) cannot be scored yet, or None when it
    can: the window has closed and the agency's records (the latest at `last`) reach past
    its end. The one rule of the beat and of a single scoring."""
    if end > now:
        return (f"The window of forecast {forecast.pk} ends {end.isoformat()}: it is scored "
                "once it has closed.")
    if last is None or last < end:
        return (f"The records of {forecast.agency.name} do not reach past the end of "
                f"forecast {forecast.pk}'s window ({end.isoformat()}) yet: it is scored once "
                "they do.")
    return None


def due_forecast_ids(now: datetime | None = None) -> list[int]:
    """The forecasts without a score whose window has closed and whose agency's records
    reach past its end, oldest window first."""
    now = now or timezone.now()
    pending = (Forecast.objects.filter(score__isnull=True, window_start__lte=now.date())
               .select_related("agency").only("pk", "window_start", "horizon_days",
                                              "agency__timezone", "agency__name", "agency_id")
               .order_by("window_start", "pk"))
    latest: dict[int, datetime | None] = {}
    due = []
    for forecast in pending:
        _, end = window_bounds(forecast.window_start, forecast.horizon_days,
                               forecast.agency.timezone)
        if end <= now and forecast.agency_id not in latest:  # read once per agency
            latest[forecast.agency_id] = last_record(forecast.agency)
        if not_due(forecast, end, now, latest.get(forecast.agency_id)) is None:
            due.append(forecast.pk)
    return due


def score_forecast(forecast_id: int, *, acting_user=None,
                   now: datetime | None = None) -> ForecastScore | None:
    """The forecast's score, computed and kept if it has none (its existing score
    otherwise); None when the forecast no longer exists. Raises ``NotDue`` while its
    window is open or its agency's records do not reach past the window's end.
    ``acting_user``: who asked (the beat: None); the score is the same whoever asks."""
    forecast = Forecast.objects.select_related("agency", "model").filter(pk=forecast_id).first()
    if forecast is None:
        return None
    existing = ForecastScore.objects.filter(model_id=forecast.model_id,
                                            window_start=forecast.window_start).first()
    if existing is not None:
        return existing
    agency, model = forecast.agency, forecast.model
    start, end = window_bounds(forecast.window_start, forecast.horizon_days, agency.timezone)
    now = now or timezone.now()
    reason = not_due(forecast, end, now, last_record(agency) if end <= now else None)
    if reason is not None:
        raise NotDue(reason)
    values = _score_values(forecast, start, end)
    try:
        with transaction.atomic():
            return ForecastScore.objects.create(
                agency=agency, model=model, forecast=forecast,
                window_start=forecast.window_start, horizon_days=forecast.horizon_days,
                issued_at=forecast.created_at, **values)
    except IntegrityError:  # scored meanwhile by another delivery: keep the first
        return ForecastScore.objects.get(model_id=model.pk, window_start=forecast.window_start)


def _score_values(forecast: Forecast, start: datetime, end: datetime) -> dict[str, Any]:
    target, _ = target_categories(forecast.model)
    grid = Grid.from_spec(forecast.grid)
    ranked = np.array(forecast.cells.order_by("cell").values_list("cell", "rank"), np.int64)
    if ranked.size == 0:
        raise NotDue(f"Forecast {forecast.pk} has no cells to score.")
    cells, ranking = ranked[:, 0], -ranked[:, 1].astype(float)  # rank 1 ranks first
    arrays = load_arrays(forecast.agency, categories=target,
                         start=start - timedelta(days=BASELINE_HISTORY_DAYS), end=end)
    events = to_events(arrays, grid)
    t0 = as_time(np.datetime64(forecast.window_start.isoformat()))
    truth = window_truth(events, grid, t0, forecast.horizon_days, target, cells)
    baseline = baseline_scores(events, grid, t0, forecast.horizon_days, target, cells)
    flagged, source, reads = coverage_viewed(forecast, end)
    coverages = coverages_with_viewed(flagged, cells.size)
    mine, theirs = (score_window(s, truth, coverages) for s in (ranking, baseline))
    return json_safe({
        "coverage": flagged / cells.size, "flagged_cells": flagged, "coverage_source": source,
        "reads": reads, "cells": int(cells.size), "events": int(truth.sum()),
        "hit_rate": mine["viewed"]["hit_rate"], "pai": mine["viewed"]["pai"],
        "baseline": BASELINE_METHOD, "baseline_hit_rate": theirs["viewed"]["hit_rate"],
        "baseline_pai": theirs["viewed"]["pai"],
        "metrics": {"model": mine, "baseline": theirs},
        "exposure": _exposure(forecast, grid, cells, ranking, baseline, truth, flagged),
    })


def _exposure(forecast: Forecast, grid: Grid, cells: np.ndarray, ranking: np.ndarray,
              baseline: np.ndarray, truth: np.ndarray, flagged: int) -> dict[str, Any]:
    """Each grouping's exposure at the coverage viewed: the forecast's and the baseline's."""
    layer = fairness_layer(forecast.agency)
    if layer is None:
        return {}
    keep = ("exposure_ratio", "flagged_resident_share", "population_share", "crime_share",
            "exposure_to_crime_ratio")
    groupings = []
    for name, groups in groupings_for(layer, grid):
        both = {key: flagged_exposure(groups, cells, scores, flagged, truth)
                for key, scores in (("forecast", ranking), ("baseline", baseline))}
        groupings.append({"name": name, "groups": list(groups.names), **{
            key: {g: {k: row.get(k) for k in keep} for g, row in values.items()}
            for key, values in both.items()}})
    return {"layer": layer.name, "flagged_cells": flagged, "groupings": groupings}
