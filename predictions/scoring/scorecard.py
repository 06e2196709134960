"""What the kept scores say: a model's running score (its page) and an agency's monthly
scorecard (the public transparency page and API).

Only aggregates: rates pooled over forecasts (``forecasting.scoring.running_score``, the
backtest's arithmetic), forecasts counted, exposure ratios averaged. The public scorecard
gives no count of incidents, and a month whose scored windows hold fewer than
``PUBLIC_MIN_EVENTS`` incidents shows no rate at all (a rate of three incidents says where
one of them was more than how good the forecast is)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.db.models import Count
from django.db.models.functions import TruncMonth

from agencies.models import Agency
from predictions.forecasting.scoring import SCORE_COVERAGES, coverage_label, running_score
from predictions.models import Forecast, ForecastModel, ForecastScore

LABELS = ["viewed", *(coverage_label(c) for c in SCORE_COVERAGES)]
PUBLIC_MIN_EVENTS = 20
RECENT_ROWS = 52
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 900, 260, 40


def running(scores: list[ForecastScore], *, intervals: bool = True) -> dict[str, Any]:
    """The pooled score of these forecasts, the model's and the baseline's, per label; the
    model's with bootstrap intervals unless ``intervals=False`` (pages that show none), the
    baseline's without (no page shows them)."""
    windows = [s for s in scores if s.metrics]
    return {"forecasts": len(windows),
            "events": int(sum(s.events for s in windows)),
            "model": running_score([s.metrics["model"] for s in windows], LABELS,
                                   intervals=intervals),
            "baseline": running_score([s.metrics["baseline"] for s in windows], LABELS,
                                      intervals=False)}


def model_running_score(model: ForecastModel) -> dict[str, Any]:
    """A model's running score: pooled over all its scored forecasts, the rows of the
    recent ones, and the pooled hit rate at the coverage viewed as it grew, forecast after
    forecast (the model's and the baseline's: a chart)."""
    scores = list(model.scores.order_by("window_start"))
    pooled = running(scores)
    rows = []
    for label in LABELS if scores else []:
        mine, theirs = pooled["model"][label], pooled["baseline"][label]
        low, high = mine["hit_rate_ci"]
        rows.append({"label": "as viewed" if label == "viewed" else label,
                     "viewed": label == "viewed", "area": percent(mine["area_share"], 2),
                     "hit_rate": percent(mine["hit_rate"]),
                     "interval": f"{percent(low)} – {percent(high)}"
                     if low is not None and high is not None else "–",
                     "baseline_hit_rate": percent(theirs["hit_rate"]),
                     "pai": mine["pai"], "baseline_pai": theirs["pai"]})
    recent = [{"window_start": s.window_start, "horizon_days": s.horizon_days,
               "flagged": s.flagged_cells, "cells": s.cells, "coverage": percent(s.coverage, 2),
               "source": s.get_coverage_source_display(), "default": s.coverage_source ==
               ForecastScore.CoverageSource.DEFAULT, "events": s.events,
               "hit_rate": percent(s.hit_rate), "baseline_hit_rate": percent(s.baseline_hit_rate),
               "pai": s.pai, "baseline_pai": s.baseline_pai, "scored_at": s.scored_at}
              for s in scores[::-1][:RECENT_ROWS]]
    return {"pooled": pooled, "rows": rows, "recent": recent, "chart": _growth_chart(scores),
            "unscored": model.forecasts.filter(score__isnull=True).count()}


def percent(value: float | None, digits: int = 1) -> str:
    """``0.1234`` -> ``"12.3 %"``; ``"–"`` for no value."""
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def summaries(models: list[ForecastModel]) -> dict[int, dict[str, Any]]:
    """Per model id: forecasts scored and the pooled hit rate and PAI at the coverage viewed,
    the model's and the baseline's (the models list's column)."""
    by_model: dict[int, list[ForecastScore]] = defaultdict(list)
    for s in ForecastScore.objects.filter(model__in=models).only(
            "model_id", "metrics", "events", "window_start"):
        by_model[s.model_id].append(s)
    out = {}
    for model_id, scores in by_model.items():
        pooled = running(scores, intervals=False)
        mine = pooled["model"].get("viewed") or {}
        theirs = pooled["baseline"].get("viewed") or {}
        out[model_id] = {"forecasts": pooled["forecasts"],
                         "hit_rate": percent(mine.get("hit_rate")),
                         "baseline_hit_rate": percent(theirs.get("hit_rate")),
                         "pai": mine.get("pai"), "baseline_pai": theirs.get("pai")}
    return out


def _growth_chart(scores: list[ForecastScore]) -> dict[str, Any]:
    """Pooled hit rate at the coverage viewed after each scored forecast (a window without
    incidents adds nothing), the model's and the baseline's, as SVG polyline points."""
    series: dict[str, list[tuple[str, float]]] = {"model": [], "baseline": []}
    sums = {key: [0.0, 0.0] for key in series}
    for s in scores:
        for key in series:
            viewed = (s.metrics.get(key) or {}).get("viewed")
            if not viewed:
                continue
            sums[key][0] += viewed["captured"]
            sums[key][1] += viewed["events"]
            if sums[key][1] > 0:
                series[key].append((s.window_start.isoformat(), sums[key][0] / sums[key][1]))
    n = max(len(v) for v in series.values())
    if n < 2:
        return {"lines": []}
    peak = max(v for points in series.values() for _, v in points) or 1.0

    def x(i: int) -> float:
        return CHART_PAD + i * (CHART_WIDTH - 2 * CHART_PAD) / (n - 1)

    def y(v: float) -> float:
        return CHART_HEIGHT - CHART_PAD - v / peak * (CHART_HEIGHT - 2 * CHART_PAD)

    lines = [{"name": key, "points": " ".join(f"{x(i):.1f},{y(v):.1f}"
                                              for i, (_, v) in enumerate(points)),
              "last": round(100 * points[-1][1], 1) if points else None}
             for key, points in series.items()]
    dates = [d for d, _ in series["model"] or series["baseline"]]
    return {"lines": lines, "width": CHART_WIDTH, "height": CHART_HEIGHT, "pad": CHART_PAD,
            "peak": round(100 * peak), "first": dates[0], "last": dates[-1],
            "axis_y": CHART_HEIGHT - CHART_PAD, "axis_x2": CHART_WIDTH - CHART_PAD,
            "label_y": CHART_HEIGHT - 14}


def agency_scorecard(agency: Agency) -> list[dict[str, Any]]:
    """Per model of the agency with forecasts, per month of their windows (newest first):
    forecasts issued and scored, the coverage viewed (mean share of the area flagged), the
    pooled hit rate and PAI there, the model's and the baseline's (None below
    ``PUBLIC_MIN_EVENTS`` incidents, with ``suppressed``), and each group's mean exposure
    ratio, the model's and the baseline's; rounded. Nothing else: no incident count, no
    cell."""
    issued: dict[tuple[int, str], int] = defaultdict(int)
    for row in (Forecast.objects.filter(agency=agency, score__isnull=True)
                .annotate(month=TruncMonth("window_start")).values("model_id", "month")
                .annotate(n=Count("id"))):
        issued[(row["model_id"], row["month"].strftime("%Y-%m"))] += row["n"]
    scored: dict[tuple[int, str], list[ForecastScore]] = defaultdict(list)
    for s in ForecastScore.objects.filter(agency=agency).order_by("window_start"):
        key = (s.model_id, s.window_start.strftime("%Y-%m"))
        scored[key].append(s)
        issued[key] += 1
    models = {m.pk: m for m in ForecastModel.objects.filter(
        pk__in={model_id for model_id, _ in issued})}
    out = []
    for model_id in sorted(models, key=lambda pk: models[pk].name):
        model = models[model_id]
        months = sorted({month for mid, month in issued if mid == model_id}, reverse=True)
        out.append({"model": model.name, "target": model.target_label,
                    "horizon_days": model.horizon_days, "method": model.method_label,
                    "months": [_month(month, issued[(model_id, month)],
                                      scored.get((model_id, month), [])) for month in months]})
    return out


def _month(month: str, issued: int, scores: list[ForecastScore]) -> dict[str, Any]:
    pooled = running(scores, intervals=False)
    mine = pooled["model"].get("viewed") or {}
    theirs = pooled["baseline"].get("viewed") or {}
    suppressed = bool(scores) and pooled["events"] < PUBLIC_MIN_EVENTS
    shown = bool(scores) and not suppressed
    return {
        "month": month, "issued": issued, "scored": len(scores),
        "coverage": _round(float(np.mean([s.coverage for s in scores])) if scores else None,
                           3),
        "hit_rate": _round(mine.get("hit_rate") if shown else None, 3),
        "pai": _round(mine.get("pai") if shown else None, 2),
        "baseline_hit_rate": _round(theirs.get("hit_rate") if shown else None, 3),
        "baseline_pai": _round(theirs.get("pai") if shown else None, 2),
        "suppressed": suppressed,
        "exposure": _mean_exposure(scores),
    }


def _round(value: float | None, digits: int) -> float | None:
    """Public figures are rounded (a tenth of a percent, a hundredth of a ratio): no more
    precision than the scorecard means."""
    return None if value is None else round(value, digits)


def _mean_exposure(scores: list[ForecastScore]) -> list[dict[str, Any]]:
    """Per grouping and group, the mean exposure ratio over the month's scored forecasts,
    the model's and the baseline's."""
    values: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: {"forecast": [], "baseline": []}))
    for s in scores:
        for grouping in (s.exposure or {}).get("groupings", []):
            for group in grouping["groups"]:
                for key in ("forecast", "baseline"):
                    ratio = grouping[key].get(group, {}).get("exposure_ratio")
                    if ratio is not None:
                        values[grouping["name"]][group][key].append(ratio)
    return [{"name": name, "groups": [
        {"group": group, "forecast": _round(_mean(v["forecast"]), 2),
         "baseline": _round(_mean(v["baseline"]), 2)}
        for group, v in groups.items()]} for name, groups in values.items()]


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def scorecard_page(card: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scorecard in words for the transparency page: percentages, and per grouping a
    table of months by group ("forecast / baseline" exposure ratios)."""
    out = []
    for model in card:
        months = [{**m, "coverage_shown": percent(m["coverage"], 2),
                   "hit_rate_shown": percent(m["hit_rate"]),
                   "baseline_hit_rate_shown": percent(m["baseline_hit_rate"])}
                  for m in model["months"]]
        groupings: dict[str, dict[str, Any]] = {}
        for m in model["months"]:
            for g in m["exposure"]:
                entry = groupings.setdefault(g["name"], {"name": g["name"], "groups": [],
                                                         "by_month": {}})
                for row in g["groups"]:
                    if row["group"] not in entry["groups"]:
                        entry["groups"].append(row["group"])
                    entry["by_month"].setdefault(m["month"], {})[row["group"]] = (
                        f"{_ratio(row['forecast'])} / {_ratio(row['baseline'])}")
        tables = [{"name": g["name"], "groups": g["groups"],
                   "rows": [{"month": month, "values": [values.get(group, "–")
                                                        for group in g["groups"]]}
                            for month, values in g["by_month"].items()]}
                  for g in groupings.values()]
        out.append({**model, "months": months, "exposure_tables": tables})
    return out


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
