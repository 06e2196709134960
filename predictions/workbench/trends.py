"""Trends: counts per week or month by category, for the city or one named area, each beside
the same period a year before and the change in percent; a chart, tables and a CSV file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agencies.access import get_agency_for_user
from agencies.roles import Role
from audit.events import Action
from common.csv_safe import csv_text
from predictions.bridge import grouped_counts
from predictions.forecasting.trends import (
    Trend,
    complete_periods,
    dense_counts,
    percent_change,
    period_range,
    trend,
)
from predictions.taxonomy import CATEGORIES
from predictions.workbench.charts import trend_chart
from predictions.workbench.choices import UNMAPPED, Choice, read_choice
from predictions.workbench.reads import audited

SHOWN = {"week": 52, "month": 24}  # periods in the chart and the table
RECENT = {"week": 4, "month": 3}  # the "recent" sums of the summary


@dataclass
class Trends:
    """Every category's counts on the same periods (row 0: all categories together)."""

    codes: list[str]  # "" = all categories, "unmapped" = no category
    labels: list[str]
    trend: Trend  # counts (categories, periods)
    complete: np.ndarray  # bool per period: over before the data's end, after its start
    left_out: int  # incidents whose records are too coarse in time for the period


def read_trends(choice: Choice) -> Trends | None:
    if choice.span is None:
        return None
    first, end = choice.span
    found, left_out = grouped_counts(choice.incidents(start=first, end=end, every_category=True),
                                     [choice.period, "category"], choice.agency.timezone)
    starts = period_range(first, end - 1, choice.period)
    present = set(found["category"].tolist())
    codes = [c for c in CATEGORIES if c in present] + ([UNMAPPED] if "" in present else [])
    rows = [dense_counts(found[choice.period], found["n"], starts)]
    for code in codes:
        mine = found["category"] == ("" if code == UNMAPPED else code)
        rows.append(dense_counts(found[choice.period][mine], found["n"][mine], starts))
    complete = complete_periods(starts, choice.period, end) & (starts >= first)
    labels = ["All categories"] + [CATEGORIES[c].label if c in CATEGORIES else
                                   "Unmapped offences" for c in codes]
    return Trends([""] + codes, labels, trend(starts, np.array(rows), period=choice.period),
                  complete, left_out)


def _num(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 1)


def _count(value: float) -> int | None:
    return None if not np.isfinite(value) else int(round(float(value)))


def summary_rows(t: Trends, period: str) -> tuple[list[dict[str, Any]], str | None]:
    """Per category: the latest complete period and the last few, each against a year before."""
    done = np.flatnonzero(t.complete)
    if not done.size:
        return [], None
    i = int(done[-1])
    k = RECENT[period]
    window = slice(max(i - k + 1, 0), i + 1)
    rows = []
    for row, (code, label) in enumerate(zip(t.codes, t.labels, strict=True)):
        recent = float(t.trend.counts[row, window].sum())
        before = t.trend.last_year[row, window]
        recent_before = float(before.sum()) if np.all(np.isfinite(before)) else np.nan
        rows.append({"code": code, "label": label, "now": int(t.trend.counts[row, i]),
                     "before": _count(t.trend.last_year[row, i]),
                     "change": _num(t.trend.change[row, i]),
                     "recent": int(recent), "recent_before": _count(recent_before),
                     "recent_change": _num(float(percent_change(recent, recent_before)))})
    return rows, str(t.trend.starts[i])


def series_rows(t: Trends, row: int) -> list[dict[str, Any]]:
    return [{"start": str(s), "count": int(c), "before": _count(b), "change": _num(ch),
             "complete": bool(done)}
            for s, c, b, ch, done in zip(t.trend.starts, t.trend.counts[row],
                                         t.trend.last_year[row], t.trend.change[row],
                                         t.complete, strict=True)]


def _chosen_row(t: Trends, choice: Choice) -> int:
    code = choice.category_param
    return t.codes.index(code) if code in t.codes else -1


@login_required
@require_GET
def trends_page(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    choice = read_choice(request, agency)
    t = audited(request, choice, "trends", lambda: read_trends(choice),
                details={"period": choice.period})
    context: dict[str, Any] = {"agency": agency, "choice": choice, "form": choice.form(),
                               "page": "trends", "query": request.GET.urlencode()}
    if t is not None:
        row = _chosen_row(t, choice)
        summary, latest = summary_rows(t, choice.period)
        series = series_rows(t, row) if row >= 0 else []
        shown = [s for s in series if s["complete"]][-SHOWN[choice.period]:]
        context.update({
            "summary": summary, "latest": latest, "recent": RECENT[choice.period],
            "series": series[::-1][:SHOWN[choice.period] + 1], "left_out": t.left_out,
            "chart": trend_chart([s["start"] for s in shown],
                                 np.array([s["count"] for s in shown], float),
                                 np.array([np.nan if s["before"] is None else s["before"]
                                           for s in shown], float)) if shown else None,
        })
    return render(request, "predictions/workbench/trends.html", context)


@login_required
@require_GET
def trends_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """Every period of every category for the chosen area and period length."""
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    choice = read_choice(request, agency)

    def read() -> str:
        t = read_trends(choice)
        header = ["period_start", "period", "area", "category", "count",
                  "same_period_last_year", "change_percent", "complete"]
        if t is None:
            return csv_text(header, [])
        return csv_text(header, (
            (s["start"], choice.period, choice.area_name, code or "all", s["count"],
             "" if s["before"] is None else s["before"],
             "" if s["change"] is None else s["change"], "yes" if s["complete"] else "no")
            for row, code in enumerate(t.codes) for s in series_rows(t, row)))

    body = audited(request, choice, "trends.csv", read, action=Action.WORKBENCH_EXPORT,
                   details={"period": choice.period})
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    area = "city" if choice.area is None else f"area-{choice.area}"
    response["Content-Disposition"] = (
        f'attachment; filename="trends-{agency.slug}-{area}-{choice.period}.csv"')
    return response
