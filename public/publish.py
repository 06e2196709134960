"""Building the public releases: computed once from incidents, noised, stored.

This is the only module of the public app that reads incidents (read-only).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone

from agencies.models import Agency
from predictions.bridge import incident_points
from predictions.forecasting.grid import Grid
from predictions.forecasting.history import steady_start_month
from predictions.models import Incident
from predictions.taxonomy import CATEGORIES
from public import privacy
from public.models import PublicRelease

log = logging.getLogger(__name__)


# --- months -------------------------------------------------------------------------------
def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date, tz: ZoneInfo) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=tz)


def latest_publishable_month(agency: Agency, now: datetime | None = None) -> date:
    """The last month whose end (agency time) lies PUBLIC_DELAY_DAYS or more before `now`."""
    return latest_publishable_month_in(agency.timezone, now)


def latest_publishable_month_in(timezone_name: str, now: datetime | None = None) -> date:
    """`latest_publishable_month` of an agency in the time zone `timezone_name`."""
    tz = ZoneInfo(timezone_name)
    now = (now or timezone.now()).astimezone(tz)
    month = date(now.year, now.month, 1)
    delay = timedelta(days=settings.PUBLIC_DELAY_DAYS)
    while month_start(add_months(month, 1), tz) + delay > now:
        month = add_months(month, -1)
    return month


def is_publishable(agency: Agency, month: date, now: datetime | None = None) -> bool:
    return month <= latest_publishable_month(agency, now)


# --- what is published --------------------------------------------------------------------
def sensitive_categories() -> list[str]:
    return [c for c in CATEGORIES if c in set(settings.PUBLIC_SENSITIVE_CATEGORIES)]


def cell_categories() -> list[str]:
    """Categories mapped per cell: the whole taxonomy but the sensitive ones."""
    sensitive = set(settings.PUBLIC_SENSITIVE_CATEGORIES)
    return [c for c in CATEGORIES if c not in sensitive]


def city_categories() -> list[str]:
    """Sensitive categories published as one city-wide count (or not at all)."""
    return sensitive_categories() if settings.PUBLIC_SENSITIVE_LEVEL == "city" else []


def public_grid(agency: Agency) -> tuple[Grid, np.ndarray]:
    """The coarse public grid over the agency's boundary, and its active cells (centre inside).

    The active area comes from the boundary only, never from where incidents happened."""
    grid = Grid.from_lonlat(
        np.array([]), np.array([]), cell_size=settings.PUBLIC_CELL_SIZE_M, boundary=agency.boundary
    )
    active = np.flatnonzero(grid.boundary_mask())
    return grid, active


# --- the publication range ---------------------------------------------------------------
def monthly_counts(agency: Agency) -> dict[date, int]:
    """Countable incidents per month (agency time zone), months with none left out."""
    rows = (Incident.objects.filter(agency=agency).usable()
            .annotate(m=TruncMonth("occurred_at", tzinfo=ZoneInfo(agency.timezone)))
            .values_list("m").annotate(n=Count("id")).values_list("m", "n"))
    return {date(m.year, m.month, 1): n for m, n in rows}


def suggested_start(counts: dict[date, int]) -> date | None:
    """Where the data becomes meaningful (forecasting.history): stray old records are left
    before it."""
    start = steady_start_month([np.datetime64(m, "M") for m in counts], list(counts.values()))
    return None if start is None else date.fromisoformat(f"{start}-01")


def publication_start(agency: Agency, counts: dict[date, int] | None = None) -> date | None:
    """The agency's first publishable month: its setting, else the suggested start."""
    if agency.public_start_month is not None:
        return agency.public_start_month.replace(day=1)
    return suggested_start(monthly_counts(agency) if counts is None else counts)


def months_due(agency: Agency, now: datetime | None = None,
               counts: dict[date, int] | None = None) -> list[date]:
    """Months from the start of the publication range to the last recorded incident, up to
    the last publishable one. Nothing before the range is ever due."""
    counts = monthly_counts(agency) if counts is None else counts
    start = publication_start(agency, counts)
    if start is None or not counts:
        return []
    last = min(max(counts), latest_publishable_month(agency, now))
    months, month = [], start
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def true_table(agency: Agency, month: date, grid: Grid, active: np.ndarray):
    """Exact counts of one month: {category: counts per active cell}, {category: city count}."""
    tz = ZoneInfo(agency.timezone)
    cats, lon, lat = incident_points(agency, month_start(month, tz),
                                     month_start(add_months(month, 1), tz))
    position = np.full(grid.n_cells, -1, np.int64)
    position[active] = np.arange(active.size)
    if cats.size:
        x, y = grid.project(lon, lat)
        index = grid.cell_index(x, y)
        pos = np.where(index >= 0, position[np.maximum(index, 0)], -1)
    else:
        pos = np.zeros(0, np.int64)
    inside = pos >= 0  # incidents outside the active area are not counted anywhere
    cells = {}
    for category in cell_categories():
        sel = inside & (cats == category)
        cells[category] = np.bincount(pos[sel], minlength=active.size)
    city = {c: int((inside & (cats == c)).sum()) for c in city_categories()}
    return cells, city


# --- releasing ----------------------------------------------------------------------------
def release_month(agency_id: int, month: date,
                  start: date | None = None) -> PublicRelease | None:
    """Publish one month once: exact table, noise on every entry, ledger charge, stored.

    Safe to run twice (an existing release is returned untouched, its noise never redrawn).
    Raises privacy.BudgetExceeded when the ledger refuses the spend, ValueError for a month
    outside the publication range (`start`: its first month, computed when not given)."""
    epsilon = float(settings.PUBLIC_EPSILON)
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(pk=agency_id)
        existing = PublicRelease.objects.filter(agency=agency, month=month).first()
        if existing or not agency.publishes_public_map or not agency.boundary:
            return existing
        if not is_publishable(agency, month):
            raise ValueError(f"{month:%Y-%m} is not yet publishable for {agency.slug}")
        start = publication_start(agency) if start is None else start
        if start is None or month < start:
            raise ValueError(f"{month:%Y-%m} is before the publication range of {agency.slug}")
        grid, active = public_grid(agency)
        cells, city = true_table(agency, month, grid, active)
        cell_cats, city_cats = list(cells), list(city)
        stacked = np.stack([cells[c] for c in cell_cats]) if cell_cats else np.zeros((0, 0))
        noisy = privacy.add_noise(stacked, epsilon)
        noisy_city = privacy.add_noise(np.array([city[c] for c in city_cats]), epsilon)
        entry = privacy.charge(agency, month, epsilon)
        release = PublicRelease.objects.create(
            agency=agency,
            month=month,
            grid=grid.spec(),
            cells=active.tolist(),
            counts={c: noisy[i].tolist() for i, c in enumerate(cell_cats)},
            city_counts={c: int(noisy_city[i]) for i, c in enumerate(city_cats)},
            epsilon=epsilon,
            mechanism=privacy.MECHANISM,
            delay_days=settings.PUBLIC_DELAY_DAYS,
        )
        entry.release = release
        entry.save(update_fields=["release"])
    return release


def publish_agency(agency_id: int, now: datetime | None = None) -> dict:
    """Release every due month of one agency not yet released; stops at a budget refusal."""
    agency = Agency.objects.get(pk=agency_id)
    result = {"agency": agency.slug, "released": 0, "already": 0, "refused": 0, "skipped": ""}
    if not agency.publishes_public_map:
        result["skipped"] = "agency does not publish a public map"
        return result
    if not agency.boundary:
        result["skipped"] = "agency has no boundary (the public grid needs one)"
        return result
    existing = set(PublicRelease.objects.filter(agency=agency).values_list("month", flat=True))
    counts = monthly_counts(agency)
    start = publication_start(agency, counts)
    for month in months_due(agency, now, counts):
        if month in existing:
            result["already"] += 1
            continue
        try:
            release_month(agency.pk, month, start)
        except privacy.BudgetExceeded as exc:
            log.warning("public release refused: %s", exc)
            result["refused"] += 1
            break
        result["released"] += 1
    return result


def publish_all(agency_id: int | None = None) -> list[dict]:
    agencies = Agency.objects.filter(publishes_public_map=True)
    if agency_id is not None:
        agencies = agencies.filter(pk=agency_id)
    return [publish_agency(pk) for pk in agencies.values_list("pk", flat=True)]
