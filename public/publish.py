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
from django.utils import timezone

from agencies.models import Agency
from predictions.forecasting.grid import Grid
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


def months_due(agency: Agency, now: datetime | None = None) -> list[date]:
    """Months from the first to the last recorded incident, up to the last publishable one."""
    tz = ZoneInfo(agency.timezone)
    first = (Incident.objects.filter(agency=agency).usable().order_by("occurred_at")
             .values_list("occurred_at", flat=True))
    start, end = first.first(), first.last()
    if start is None:
        return []
    start, end = start.astimezone(tz), end.astimezone(tz)
    month, last = date(start.year, start.month, 1), date(end.year, end.month, 1)
    last = min(last, latest_publishable_month(agency, now))
    months = []
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def true_table(agency: Agency, month: date, grid: Grid, active: np.ndarray):
    """Exact counts of one month: {category: counts per active cell}, {category: city count}."""
    tz = ZoneInfo(agency.timezone)
    rows = list(
        Incident.objects.filter(agency=agency).usable()
        .filter(
            occurred_at__gte=month_start(month, tz),
            occurred_at__lt=month_start(add_months(month, 1), tz),
        )
        .values_list("category", "lon", "lat")
    )
    position = np.full(grid.n_cells, -1, np.int64)
    position[active] = np.arange(active.size)
    cats = np.array([r[0] for r in rows], dtype=object)
    if rows:
        x, y = grid.project(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
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
def release_month(agency_id: int, month: date) -> PublicRelease | None:
    """Publish one month once: exact table, noise on every entry, ledger charge, stored.

    Safe to run twice (an existing release is returned untouched, its noise never redrawn).
    Raises privacy.BudgetExceeded when the ledger refuses the spend."""
    epsilon = float(settings.PUBLIC_EPSILON)
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(pk=agency_id)
        existing = PublicRelease.objects.filter(agency=agency, month=month).first()
        if existing or not agency.publishes_public_map or not agency.boundary:
            return existing
        if not is_publishable(agency, month):
            raise ValueError(f"{month:%Y-%m} is not yet publishable for {agency.slug}")
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
    for month in months_due(agency, now):
        if month in existing:
            result["already"] += 1
            continue
        try:
            release_month(agency.pk, month)
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
