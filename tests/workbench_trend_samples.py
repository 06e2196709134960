"""A small city for the workbench tests: two named areas (North and South) as agency A's
reference layer, and incidents whose counts by area, week and hour are known by hand."""

from __future__ import annotations

import json
from datetime import date, timedelta

from predictions.areas.actions import do_update_layer, do_upload_layer
from tests.samples import GENERIC_MAPPING, import_sample

NORTH_A, NORTH_B, SOUTH_C = (-90.25, 38.65), (-90.24, 38.66), (-90.25, 38.60)


def _square(west: float, south: float, east: float, north: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


def seed_areas(agency, user):
    """North (lat 38.63-38.70) and South (38.55-38.63) as the reference layer."""
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "North"},
         "geometry": _square(-90.30, 38.63, -90.20, 38.70)},
        {"type": "Feature", "properties": {"name": "South"},
         "geometry": _square(-90.30, 38.55, -90.20, 38.63)},
    ]}
    layer = do_upload_layer(agency, name="Areas", file_name="areas.geojson",
                            data=json.dumps(doc).encode(), acting_user=user)
    return do_update_layer(layer, acting_user=user, use_as_covariates=False,
                           use_for_fairness=False, population_attribute="", groupings=[],
                           band=[0.8, 1.25], use_as_reference=True)


# (local time, offence, point): known answers in the tests
INCIDENTS = [
    ("2024-01-01T10:15:00", "BURGLARY-RESIDENCE", NORTH_A),  # Monday, week 2024-01-01
    ("2024-01-02T23:05:00", "ROBBERY", NORTH_B),  # Tuesday
    ("2024-01-03T08:00:00", "BURGLARY-RESIDENCE", SOUTH_C),  # Wednesday, South
    ("2024-12-29T23:30:00", "BURGLARY-RESIDENCE", NORTH_A),  # Sunday local, Monday in UTC
    ("2024-12-30T10:30:00", "BURGLARY-RESIDENCE", NORTH_A),  # Monday, 52 weeks later
    ("2025-01-01T00:30:00", "BURGLARY-RESIDENCE", NORTH_B),  # Wednesday, same week
    ("2025-01-06T12:00:00", "LARCENY", SOUTH_C),  # the data's last day
]


def csv_of(rows, prefix: str = "W") -> str:
    lines = ["case,when,lon,lat,offence,block"]
    for i, (when, offence, (lon, lat)) in enumerate(rows):
        lines.append(f"{prefix}-{i},{when},{lon},{lat},{offence},100 MAIN ST")
    return "\n".join(lines) + "\n"


def seed_incidents(agency, user, rows=INCIDENTS, name: str = "workbench.csv",
                   prefix: str = "W"):
    return import_sample(agency, user, text=csv_of(rows, prefix), mapping=GENERIC_MAPPING,
                         name=name)


def weekly_rows(first: date, weeks: int, *, point=NORTH_A, offence="BURGLARY-RESIDENCE"):
    """3 to 6 incidents a week (3 + week % 4) for `weeks` weeks from Monday `first`."""
    rows = []
    for w in range(weeks):
        for k in range(3 + w % 4):
            day = first + timedelta(weeks=w, days=k)
            rows.append((f"{day.isoformat()}T{9 + k:02d}:00:00", offence, point))
    return rows
