"""Trend forecasts: the next 4 weeks and the next 3 months of counts for the city or one named
area, with 80 % and 95 % prediction intervals, each beside how often intervals made the same
way held on the latest rolling origins (predictions.forecasting.count_forecast).

Only complete periods before the forecast origin are used: the origin is the data's end, or
the `as_of` day when given (an earlier one shows what would have been forecast then)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agencies.access import get_agency_for_user
from agencies.roles import Role
from predictions.bridge import grouped_counts
from predictions.forecasting.count_forecast import (
    SeasonalCountForecaster,
    rolling_coverage,
    rolling_origins,
)
from predictions.forecasting.trends import (
    complete_periods,
    dense_counts,
    period_range,
    period_start,
)
from predictions.workbench.charts import fan_chart
from predictions.workbench.choices import Choice, read_choice, read_day
from predictions.workbench.reads import audited

# rolling origins of the backtest: how many, how many periods apart
ORIGINS = {"week": (12, 2), "month": (12, 1)}
SHOWN = {"week": 26, "month": 24}  # history periods on the chart
CACHE_SECONDS = 24 * 3600
TOO_NARROW = 10  # percentage points


def series(days: np.ndarray, n: np.ndarray, first: np.datetime64, end: np.datetime64,
           period: str) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the complete periods wholly inside ``[first, end)`` from counts per day."""
    starts = period_range(first, end - 1, period)
    counts = dense_counts(period_start(days, period), n, starts)
    keep = complete_periods(starts, period, end) & (starts >= first)
    return starts[keep], counts[keep]


def outlook(starts: np.ndarray, counts: np.ndarray, period: str) -> dict[str, Any]:
    """The forecast after `starts` and its rolling-origin coverage, as plain values (what the
    page shows and the cache keeps). Deterministic: the same counts give the same answer."""
    forecaster = SeasonalCountForecaster(period=period)
    if len(starts) < forecaster.min_periods:
        return {"error": f"Needs at least {forecaster.min_periods} complete {period}s of "
                         f"data; there are {len(starts)}."}
    forecast = forecaster.fit(starts, counts).predict()
    how_many, step = ORIGINS[period]
    horizon = len(forecast.mean)
    at = rolling_origins(len(starts), horizon=horizon, origins=how_many, step=step,
                         first=forecaster.min_periods)
    coverage = rolling_coverage(forecaster, starts, counts, at)
    rows = []
    for h in range(horizon):
        rows.append({
            "start": str(forecast.starts[h]), "mean": round(float(forecast.mean[h]), 1),
            "family": forecast.family[h],
            "intervals": [{"level": int(round(100 * lv)), "low": int(forecast.lower[lv][h]),
                           "high": int(forecast.upper[lv][h]),
                           "held": _pct(coverage.covered[lv][h])} for lv in forecaster.levels],
            "mae": None if not np.isfinite(coverage.mae[h]) else round(float(coverage.mae[h]),
                                                                       1)})
    pooled = [{"level": int(round(100 * lv)), "held": _pct(coverage.hits[lv].mean())
               if coverage.hits[lv].size else None} for lv in forecaster.levels]
    # intervals that held 10 points less often than they said are flagged on the page
    too_narrow = ", ".join(f"{p['held']:.0f} % of the {p['level']} % intervals" for p in pooled
                           if p["held"] is not None and p["held"] < p["level"] - TOO_NARROW)
    return {"rows": rows, "pooled": pooled, "too_narrow": too_narrow, "origins": len(at),
            "first_origin": str(coverage.origins[0]) if len(at) else None,
            "last_origin": str(coverage.origins[-1]) if len(at) else None,
            "history_from": str(starts[max(0, len(starts) - forecaster._setting("history"))]),
            "history_to": str(starts[-1]),
            "lower": {str(lv): forecast.lower[lv].tolist() for lv in forecaster.levels},
            "upper": {str(lv): forecast.upper[lv].tolist() for lv in forecaster.levels},
            "mean": forecast.mean.tolist()}


def _pct(value: float) -> float | None:
    return None if not np.isfinite(value) else round(100 * float(value), 1)


def cached_outlook(starts: np.ndarray, counts: np.ndarray, period: str) -> dict[str, Any]:
    """`outlook`, kept under a digest of its input: the same counts never fit twice."""
    digest = hashlib.sha256(period.encode() + np.asarray(starts, "datetime64[D]").tobytes()
                            + np.asarray(counts, np.int64).tobytes()).hexdigest()[:40]
    key = f"workbench-outlook:v3:{digest}"
    found = cache.get(key)
    if found is None:
        found = outlook(starts, counts, period)
        cache.set(key, found, CACHE_SECONDS)
    return found


def read_outlooks(choice: Choice, as_of: np.datetime64 | None) -> dict[str, Any] | None:
    if choice.span is None:
        return None
    first, end = choice.span
    if as_of is not None:
        end = min(end, as_of)
    if end <= first:
        return {"end": str(end), "left_out": 0, "periods": {}}
    found, left_out = grouped_counts(choice.incidents(start=first, end=end), ["day"],
                                     choice.agency.timezone)
    periods = {}
    for period in ("week", "month"):
        starts, counts = series(found["day"], found["n"], first, end, period)
        result = cached_outlook(starts, counts, period)
        if "rows" in result:
            shown = slice(max(0, len(starts) - SHOWN[period]), len(starts))
            levels = sorted(result["lower"], key=float)
            result = {**result, "chart": fan_chart(
                [str(s) for s in starts[shown]] + [r["start"] for r in result["rows"]],
                counts[shown].astype(float), np.array(result["mean"]),
                {float(lv): np.array(result["lower"][lv]) for lv in levels},
                {float(lv): np.array(result["upper"][lv]) for lv in levels})}
        periods[period] = result
    return {"end": str(end), "left_out": left_out, "periods": periods}


@login_required
@require_GET
def outlook_page(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    choice = read_choice(request, agency)
    as_of = read_day(request, "as_of")
    data = audited(request, choice, "outlook", lambda: read_outlooks(choice, as_of),
                   details={"as_of": None if as_of is None else str(as_of)})
    return render(request, "predictions/workbench/outlook.html", {
        "agency": agency, "choice": choice, "form": choice.form(), "page": "outlook",
        "data": data, "as_of": "" if as_of is None else str(as_of),
        "query": request.GET.urlencode()})
