"""When: an hour-of-day by day-of-week table and a month-of-year profile of the chosen
category and area, as heat tables with every count shown."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agencies.access import get_agency_for_user
from agencies.roles import Role
from predictions.bridge import grouped_counts
from predictions.forecasting.timing import (
    MONTH_NAMES,
    WEEKDAY_NAMES,
    heat_levels,
    hour_weekday_matrix,
    month_exposure,
    month_profile,
    per_day,
    shares,
)
from predictions.workbench.choices import Choice, read_choice, read_day
from predictions.workbench.reads import audited


def read_timing(choice: Choice, start: np.datetime64 | None,
                end: np.datetime64 | None) -> dict[str, Any] | None:
    if choice.span is None:
        return None
    first = max(choice.span[0], start) if start is not None else choice.span[0]
    last = min(choice.span[1], end) if end is not None else choice.span[1]
    if last <= first:
        return {"first": str(first), "end": str(last), "empty": True}
    rows = choice.incidents(start=first, end=last)
    # one scan for both tables: records without a time count by month only
    found, no_time = grouped_counts(rows, ["hour", "weekday", "month_of_year"],
                                    choice.agency.timezone, keep_coarse=True)
    fine = found["fine"]
    matrix = hour_weekday_matrix(found["hour"][fine], found["weekday"][fine], found["n"][fine])
    heat = heat_levels(matrix)
    pct = shares(matrix)
    months = month_profile(found["month_of_year"], found["n"])
    days = month_exposure(first, last)
    rate = per_day(months, days)
    month_heat = heat_levels(rate, from_least=True)
    return {
        "first": str(first), "end": str(last), "last": str(last - 1), "empty": False,
        "no_time": no_time, "total": int(matrix.sum()), "months_total": int(months.sum()),
        "weekdays": WEEKDAY_NAMES,
        "hours": [{"hour": h, "cells": [{"n": int(matrix[h, d]), "heat": int(heat[h, d]),
                                         "pct": round(float(pct[h, d]), 2)}
                                        for d in range(7)],
                   "total": int(matrix[h].sum())} for h in range(24)],
        "weekday_totals": [int(v) for v in matrix.sum(axis=0)],
        "months": [{"name": MONTH_NAMES[m], "n": int(months[m]), "days": int(days[m]),
                    "per_30_days": None if not np.isfinite(rate[m]) else round(
                        30 * float(rate[m]), 1), "heat": int(month_heat[m])}
                   for m in range(12)],
    }


@login_required
@require_GET
def timing_page(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    choice = read_choice(request, agency)
    start, end = read_day(request, "from"), read_day(request, "to")
    if start is not None and end is not None and end < start:
        raise BadRequest("'to' must not be before 'from'")
    until = None if end is None else end + 1  # `to` is the last day shown
    data = audited(request, choice, "when", lambda: read_timing(choice, start, until),
                   details={"from": None if start is None else str(start),
                            "to": None if end is None else str(end)})
    return render(request, "predictions/workbench/when.html", {
        "agency": agency, "choice": choice, "form": choice.form(), "page": "when",
        "data": data, "from": "" if start is None else str(start),
        "to": "" if end is None else str(end), "query": request.GET.urlencode()})
