"""What a workbench page is asked about: an area (the city or one reference area), a category,
a period, dates. Bad values are refused with a clear 400, never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.core.exceptions import BadRequest
from django.http import HttpRequest

from agencies.models import Agency
from predictions.bridge import area_points, data_span, reference_places, workbench_incidents
from predictions.forecasting.trends import PERIODS
from predictions.taxonomy import CATEGORIES

CITY = ""  # the `area` value of the whole city
ALL = ""  # the `category` value of every category
UNMAPPED = "unmapped"  # incidents whose offence maps to no category
HISTORY_YEARS = 5  # at most this many years before the data's end are shown and fitted


@dataclass
class Choice:
    """The question of a workbench page."""

    agency: Agency
    names: list[str]  # the reference areas' names ([] without a reference layer)
    area: int | None  # index of the reference area, None for the whole city
    category: str | None  # category code, "" for unmapped, None for all
    period: str
    span: tuple[np.datetime64, np.datetime64] | None  # local days [first, end) of the data

    @property
    def area_name(self) -> str:
        return "the whole city" if self.area is None else self.names[self.area]

    @property
    def category_label(self) -> str:
        if self.category is None:
            return "all categories"
        return CATEGORIES[self.category].label if self.category else "unmapped offences"

    @property
    def category_param(self) -> str:
        return ALL if self.category is None else (self.category or UNMAPPED)

    @property
    def area_param(self) -> str:
        return CITY if self.area is None else str(self.area)

    def incidents(self, *, start: np.datetime64 | None = None, end: np.datetime64 | None = None,
                  every_category: bool = False):
        """The usable incidents of the question (of every category if asked), from local day
        `start` to `end` (exclusive)."""
        zone = ZoneInfo(self.agency.timezone)
        points = None
        if self.area is not None:
            # (the areas' points are found once per state of the data, on first use)
            places = area_points(self.agency)
            points = places.of(self.area) if places is not None else ([], [])
        return workbench_incidents(
            self.agency, category=None if every_category else self.category, points=points,
            start=None if start is None else _local_midnight(start, zone),
            end=None if end is None else _local_midnight(end, zone))

    def details(self) -> dict[str, Any]:
        """What the audit record says was asked."""
        return {"area": self.area_name, "category": self.category_param or "all"}

    def form(self) -> dict[str, Any]:
        """The choices for the page's form."""
        areas = sorted(((name, str(i)) for i, name in enumerate(self.names) if name),
                       key=lambda a: a[0].casefold())
        return {"areas": areas, "area": self.area_param,
                "categories": [(c.code, c.label) for c in CATEGORIES.values()] + [
                    (UNMAPPED, "Unmapped offences")],
                "category": self.category_param, "periods": PERIODS, "period": self.period}


def _local_midnight(day: np.datetime64, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(str(np.datetime64(day, "D"))), time(),
                            tzinfo=zone)


def read_choice(request: HttpRequest, agency: Agency) -> Choice:
    """The page's question from its query string (400 for values that name nothing)."""
    places = reference_places(agency)
    names = places.names if places is not None else []
    area_text = request.GET.get("area", CITY).strip()
    area = None
    if area_text:
        try:
            area = int(area_text)
        except ValueError as exc:
            raise BadRequest("area must be the number of one of the agency's areas") from exc
        if not 0 <= area < len(names):
            raise BadRequest("no such area: choose one from the list")
    category_text = request.GET.get("category", ALL).strip()
    if category_text and category_text != UNMAPPED and category_text not in CATEGORIES:
        raise BadRequest(f"unknown category {category_text[:40]!r}")
    category = None if not category_text else ("" if category_text == UNMAPPED else
                                               category_text)
    period = request.GET.get("period", "week").strip() or "week"
    if period not in PERIODS:
        raise BadRequest(f"period must be one of {', '.join(PERIODS)}")
    return Choice(agency, names, area, category, period, _span(agency))


def _span(agency: Agency) -> tuple[np.datetime64, np.datetime64] | None:
    span = data_span(agency)
    if span is None:
        return None
    first, end = span
    # old stray records (a 1989 date in a 2019 file) do not stretch the history
    return max(first, end - np.timedelta64(365 * HISTORY_YEARS + 1, "D")), end


def read_day(request: HttpRequest, name: str) -> np.datetime64 | None:
    """An optional YYYY-MM-DD parameter as a day (400 when it is not one)."""
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    try:
        return np.datetime64(date.fromisoformat(text), "D")
    except ValueError as exc:
        raise BadRequest(f"{name} must be a date such as 2019-06-30") from exc
