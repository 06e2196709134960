"""Did it work? The weighted displacement difference of a patrol period (Wheeler and
Ratcliffe 2018; the statistic is the engine's `predictions.forecasting.wdd`).

The analyst names the treated areas and the control areas among the agency's reference
areas (its named neighbourhoods), the patrol period and the width of the displacement
buffer. The displacement area is the band of that width around the treated areas; the
control's own band of the same width is the displacement area's control, as in the paper.
The "before" period is the same number of days right before the patrol period. The four
areas must not overlap (else a crime would count twice, or in a control and a treated area
at once): such a choice is refused with the reason.

Only counts are shown (per area and period): no incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from agencies.models import Agency
from predictions.bridge import Places, period_arrays
from predictions.forecasting.grid import lonlat_to_xy, project_geometry, utm_crs_for
from predictions.forecasting.wdd import (
    area_counts,
    ring,
    weighted_displacement_difference,
)
from predictions.taxonomy import CATEGORIES, ENFORCEMENT_DRIVEN

MAX_DAYS = 366
MAX_BUFFER_M = 2000
OVERLAP_M2 = 1.0  # shared edges are fine; shared ground is not


class WDDRefused(ValueError):
    """The areas or the period cannot be compared as chosen."""


@dataclass(frozen=True)
class WDDRequest:
    category: str  # "" for all crime (without the enforcement-driven categories)
    start: date
    end: date  # included
    treated: tuple[int, ...]
    control: tuple[int, ...]
    buffer_m: float

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def before(self) -> tuple[date, date]:
        return self.start - timedelta(days=self.days), self.start - timedelta(days=1)

    def check(self, n_areas: int) -> None:
        if self.category and self.category not in CATEGORIES:
            raise WDDRefused(f"Unknown category {self.category!r}.")
        if self.end < self.start:
            raise WDDRefused("The patrol period ends before it starts.")
        if self.days > MAX_DAYS:
            raise WDDRefused("The patrol period is longer than a year: choose a shorter one.")
        if not self.treated:
            raise WDDRefused("Choose at least one patrolled (treated) area.")
        if not self.control:
            raise WDDRefused("Choose at least one control area.")
        if any(not 0 <= i < n_areas for i in (*self.treated, *self.control)):
            raise WDDRefused("An area chosen is not one of the reference areas.")
        if set(self.treated) & set(self.control):
            raise WDDRefused("An area cannot be both patrolled and a control.")
        if not 0 <= self.buffer_m <= MAX_BUFFER_M:
            raise WDDRefused(f"The displacement buffer is between 0 and {MAX_BUFFER_M} m.")


def categories_of(request: WDDRequest) -> list[str]:
    if request.category:
        return [request.category]
    return [c for c in CATEGORIES if c not in ENFORCEMENT_DRIVEN]


def _union(places: Places, indices: tuple[int, ...], crs: str) -> BaseGeometry:
    geoms = places.tree.geometries.take(list(indices))
    return project_geometry(shapely.union_all(geoms), crs)


def areas_for(places: Places, request: WDDRequest) -> tuple[str, dict[str, BaseGeometry]]:
    """The projected CRS and the areas (treated, control and, with a buffer, their bands);
    refused when two of them share ground."""
    whole = shapely.union_all(places.tree.geometries.take(list(request.treated)))
    centre = whole.centroid
    crs = utm_crs_for(centre.x, centre.y)
    areas = {"treated": _union(places, request.treated, crs),
             "control": _union(places, request.control, crs)}
    if request.buffer_m > 0:
        areas["displacement"] = ring(areas["treated"], request.buffer_m)
        areas["displacement_control"] = ring(areas["control"], request.buffer_m)
    names = list(areas)
    for k, a in enumerate(names):
        for b in names[k + 1:]:
            if areas[a].intersection(areas[b]).area > OVERLAP_M2:
                raise WDDRefused(
                    f"The {LABELS[a]} and the {LABELS[b]} overlap: choose control areas "
                    "farther from the patrolled ones, or a narrower buffer.")
    return crs, areas


LABELS = {"treated": "patrolled area", "control": "control area",
          "displacement": "displacement buffer around the patrolled area",
          "displacement_control": "buffer around the control area"}


def evaluate(agency: Agency, places: Places, request: WDDRequest) -> dict[str, Any]:
    """Counts before and after in each area, the WDD, its standard error and interval."""
    request.check(len(places.names))
    crs, areas = areas_for(places, request)
    first, _ = request.before
    arrays = period_arrays(agency, first, request.end, categories_of(request))
    x, y = lonlat_to_xy(crs, arrays.lon, arrays.lat) if arrays.lon.size else (
        np.empty(0), np.empty(0))
    after = arrays.times >= np.datetime64(request.start, "s")
    counts = {name: area_counts(x, y, after, geom) for name, geom in areas.items()}
    result = weighted_displacement_difference(
        treated=counts["treated"], control=counts["control"],
        displacement=counts.get("displacement"),
        displacement_control=counts.get("displacement_control"))
    return {"counts": [{"name": name, "label": LABELS[name], "before": c.before,
                        "after": c.after, "change": c.change,
                        "area_km2": round(areas[name].area / 1e6, 2)}
                       for name, c in counts.items()],
            "result": result.as_dict(), "words": plain_words(result.as_dict(), request),
            "before": [str(d) for d in request.before],
            "treated_names": [places.names[i] for i in request.treated],
            "control_names": [places.names[i] for i in request.control]}


def plain_words(r: dict[str, Any], request: WDDRequest) -> str:
    ci = f"95% interval {r['ci_low']:.0f} to {r['ci_high']:.0f}"
    if r["ci_high"] < 0:
        text = (f"Crime fell: about {-r['wdd']:.0f} fewer incidents than the control areas' "
                f"trend would give, counting what moved into the buffer ({ci}). A drop this "
                "large is unlikely to be chance.")
    elif r["ci_low"] > 0:
        text = (f"Crime rose: about {r['wdd']:.0f} more incidents than the control areas' "
                f"trend would give ({ci}). A rise this large is unlikely to be chance.")
    else:
        text = (f"No clear effect: the difference of {r['wdd']:.0f} incidents is within what "
                f"chance gives at these counts ({ci}, which includes 0).")
    if request.buffer_m > 0:
        moved = r["displacement"]
        text += (" In the buffer, crime moved " + ("up" if moved > 0 else "down")
                 + f" by {abs(moved):.0f} relative to its control: "
                 + ("a sign of displacement." if moved > 0 else
                    "a sign that the benefit spread nearby (diffusion)." if moved < 0 else
                    "no sign of displacement."))
    return text
