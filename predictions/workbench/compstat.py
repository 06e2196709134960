"""Weekly CompStat reports: counts per category this week, last 28 days and year to date
against the periods before, the busiest named areas, and how well the week's forecasts hit.

A report covers one local Monday-to-Sunday week of an agency. An analyst asks for one
(`do_request_compstat`, predictions.workbench.stats_actions), or the beat's round makes the
last complete week's report of every agency once (`schedule_weekly`,
predictions.workbench.compstat_tasks); either creates the row and queues the task, whose
`make_report` claims it (predictions.jobs), counts, renders the page and its PDF
(WeasyPrint) and stores both with the audit record in one transaction. Everything in it
is an aggregate (counts per category, per named area, a hit rate): no incident is listed.

Counts are of recorded incidents that no later record cancelled (incidents whose location is
withheld count too); the named areas and the hit rates need a location, so they count only
located incidents. The year to date runs from 1 January to the week's end; last year's to the
same day of the year.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

import audit
from agencies.models import Agency
from audit.events import Action
from predictions.bridge import period_arrays, reference_places, target_categories
from predictions.forecasting.grid import Grid
from predictions.forecasts.serving import coverage_cells
from predictions.ingest.arrays import IncidentArrays
from predictions.jobs import claim
from predictions.models import CompStatReport, Forecast, ForecastCell, Incident
from predictions.taxonomy import CATEGORIES, ENFORCEMENT_DRIVEN

log = logging.getLogger(__name__)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per step

TOP_AREAS = 10
HIT_COVERAGES = (0.01, 0.05)


def week_of(day: date) -> date:
    """The Monday starting the week that holds `day`."""
    return day - timedelta(days=day.weekday())


def last_complete_week(agency: Agency, now: datetime | None = None) -> date:
    """The Monday of the last week that has ended in the agency's time zone."""
    today = (now or timezone.now()).astimezone(ZoneInfo(agency.timezone)).date()
    return week_of(today) - timedelta(days=7)


def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def periods(week_start: date) -> dict[str, tuple[date, date]]:
    """Each compared period as [first day, day after the last) in local days."""
    end = week_start + timedelta(days=7)
    last_day = end - timedelta(days=1)
    year_start = date(last_day.year, 1, 1)
    last_year_start = date(last_day.year - 1, 1, 1)
    return {
        "week": (week_start, end),
        "previous_week": (week_start - timedelta(days=7), week_start),
        "last_28": (end - timedelta(days=28), end),
        "previous_28": (end - timedelta(days=56), end - timedelta(days=28)),
        "ytd": (year_start, end),
        "last_ytd": (last_year_start, _same_day_last_year(last_day) + timedelta(days=1)),
    }


def change(now: int, before: int) -> float | None:
    """Per cent change (None when there was nothing before)."""
    return round(100.0 * (now - before) / before, 1) if before else None


def category_counts(agency: Agency, week_start: date) -> dict[str, Any]:
    """Counts per category for every period (one query)."""
    zone = ZoneInfo(agency.timezone)
    spans = {name: (datetime.combine(a, time.min, zone), datetime.combine(b, time.min, zone))
             for name, (a, b) in periods(week_start).items()}
    earliest = min(a for a, _ in spans.values())
    latest = max(b for _, b in spans.values())
    rows = (Incident.objects.filter(agency=agency, cancelled=False, occurred_at__gte=earliest,
                                    occurred_at__lt=latest)
            .values("category")
            .annotate(**{name: Count("pk", filter=Q(occurred_at__gte=a, occurred_at__lt=b))
                         for name, (a, b) in spans.items()}))
    by_code = {r["category"]: r for r in rows}
    table = []
    totals = dict.fromkeys(spans, 0)
    for code, cat in [*CATEGORIES.items(), ("", None)]:
        row = by_code.get(code)
        if row is None:
            continue
        counts = {name: int(row[name]) for name in spans}
        if not any(counts.values()):
            continue
        for name in spans:
            totals[name] += counts[name]
        table.append(_row(cat.label if cat else "Unmapped", code, counts,
                          code in ENFORCEMENT_DRIVEN))
    return {"rows": table, "total": _row("All categories", "", totals, False)}


def trend(value: float | None) -> str:
    """"up", "down" or "" (no change worth a colour: less than half a per cent)."""
    if value is None or abs(value) < 0.5:
        return ""
    return "up" if value > 0 else "down"


def _row(label: str, code: str, c: dict[str, int], enforcement: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"label": label, "code": code, "enforcement_driven": enforcement, **c,
                           "week_change": change(c["week"], c["previous_week"]),
                           "d28_change": change(c["last_28"], c["previous_28"]),
                           "ytd_change": change(c["ytd"], c["last_ytd"])}
    for name in ("week", "d28", "ytd"):
        row[f"{name}_trend"] = trend(row[f"{name}_change"])
    return row


def week_arrays(agency: Agency, week_start: date) -> IncidentArrays:
    """The week's usable incidents, every category (a report reads them once)."""
    return period_arrays(agency, week_start, week_start + timedelta(days=6))


def top_areas(agency: Agency, week_start: date,
              week: IncidentArrays | None = None) -> dict[str, Any] | None:
    """The named areas with the most incidents this week (`week`: its incidents, read if
    not given), with last week's counts."""
    places = reference_places(agency)
    if places is None:
        return None
    week = week_arrays(agency, week_start) if week is None else week
    before = period_arrays(agency, week_start - timedelta(days=7),
                           week_start - timedelta(days=1))
    now_counts = _area_counts(places.names_at(week.lon, week.lat))
    before_counts = _area_counts(places.names_at(before.lon, before.lat))
    ranked = sorted(now_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_AREAS]
    return {"rows": [{"name": name, "week": n, "previous_week": before_counts.get(name, 0),
                      "week_change": change(n, before_counts.get(name, 0))}
                     for name, n in ranked],
            "outside": now_counts.get("", 0)}


def _area_counts(names: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return counts


def forecast_hits(agency: Agency, week_start: date,
                  week: IncidentArrays | None = None) -> list[dict[str, Any]]:
    """For each model with a forecast whose window covers the week (the latest such), the
    share of the week's located incidents (`week`, every category) of its target in its top
    1 % and 5 % of cells."""
    week = week_arrays(agency, week_start) if week is None else week
    week_end = week_start + timedelta(days=7)
    out = []
    candidates = (Forecast.objects.filter(agency=agency, window_start__lte=week_start)
                  .select_related("model", "agency").defer("fairness")
                  .order_by("model_id", "-window_start"))
    seen: set[int] = set()
    for forecast in candidates:
        if forecast.model_id in seen:
            continue
        if forecast.window_start + timedelta(days=forecast.horizon_days) < week_end:
            continue
        seen.add(forecast.model_id)
        target, _ = target_categories(forecast.model)
        mine = np.isin(week.category, target)
        grid = Grid.from_spec(forecast.grid)
        cells = grid.cell_index(*grid.project(week.lon[mine], week.lat[mine]))
        row: dict[str, Any] = {"model": forecast.model.name, "target": forecast.model.target_label,
                               "window_start": str(forecast.window_start),
                               "horizon_days": forecast.horizon_days,
                               "incidents": int(cells.size), "hits": {}}
        for coverage in HIT_COVERAGES:
            k = coverage_cells(forecast, coverage, None)
            flagged = np.fromiter(ForecastCell.objects.filter(forecast=forecast, rank__lte=k)
                                  .values_list("cell", flat=True), np.int64)
            hit = int(np.isin(cells, flagged).sum())
            row["hits"][f"{coverage:.0%}"] = {
                "cells": k, "hits": hit,
                "rate": round(hit / cells.size, 3) if cells.size else None}
        out.append(row)
    return sorted(out, key=lambda r: r["model"])


def report_data(agency: Agency, week_start: date) -> dict[str, Any]:
    spans = periods(week_start)
    week = week_arrays(agency, week_start)
    return {"agency": agency.name, "week_start": str(week_start),
            "week_end": str(week_start + timedelta(days=6)),
            "periods": {k: [str(a), str(b - timedelta(days=1))] for k, (a, b) in spans.items()},
            "categories": category_counts(agency, week_start),
            "areas": top_areas(agency, week_start, week),
            "forecasts": forecast_hits(agency, week_start, week),
            "made_at": timezone.now().strftime("%Y-%m-%d %H:%M UTC")}


def render_pdf(report: CompStatReport) -> bytes:
    """The report as a PDF (WeasyPrint; no network: the page and static/css/compstat_pdf.css)."""
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML

    html = render_to_string("predictions/workbench/compstat_pdf.html",
                            {"report": report, "data": report.data, "agency": report.agency})
    style = CSS(filename=finders.find("css/compstat_pdf.css"))
    return HTML(string=html, base_url=None).write_pdf(stylesheets=[style])


# state changes ----------------------------------------------------------------------------
class CompStatRefused(ValueError):
    pass


def _attempt(report: CompStatReport):
    return CompStatReport.objects.filter(pk=report.pk, status=CompStatReport.Status.RUNNING,
                                         attempts=report.attempts)


def make_report(report_id: int) -> CompStatReport | None:
    """Count, render and store a requested report (see the module's docstring)."""
    report = claim(CompStatReport.objects.select_related("agency"), report_id,
                   running=CompStatReport.Status.RUNNING, skip=(CompStatReport.Status.DONE,))
    if report is None:
        return None
    try:
        report.data = report_data(report.agency, report.week_start)
        _attempt(report).update(progress=50)
        pdf = render_pdf(report)
    except Exception as exc:
        log.exception("compstat report %s failed", report_id)
        _attempt(report).update(status=CompStatReport.Status.FAILED, finished_at=timezone.now(),
                                error_message=f"Could not make the report ({type(exc).__name__}).")
        raise
    with transaction.atomic():
        if not _attempt(report).select_for_update().exists():
            return None
        _attempt(report).update(status=CompStatReport.Status.DONE, progress=100,
                                data=report.data, pdf=pdf, finished_at=timezone.now())
        audit.record(action=Action.COMPSTAT_MAKE, actor=report.requested_by,
                     actor_role="system", agency=report.agency,
                     object_type="compstat_report", object_id=report.pk,
                     details={"week_start": str(report.week_start),
                              "scheduled": report.scheduled, "pdf_bytes": len(pdf)})
    report.refresh_from_db()
    return report
