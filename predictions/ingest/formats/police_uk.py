"""police.uk street-level crime CSVs (``YYYY-MM-street.csv``).

* ``Month`` (``YYYY-MM``) is the only date: ``occurred_at`` is the month's first day at
  midnight and batches carry ``date_precision = "month"``.
* Anti-social behaviour rows have an empty ``Crime ID``; they get a deterministic synthetic
  id, ``syn-`` + the first 16 hex digits of SHA-256 over the row's cells joined by U+001F
  (the n-th identical row of a file gets ``-n`` appended), so re-importing the same file
  yields the same ids.
* Positions are already anonymised to snap points by police.uk; ``Location`` ("On or
  near ...") becomes the address and ``LSOA code`` the district.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..dates import parse_year_month
from ..errors import MappingError
from .tabular import Plan, index_of

NAME = "police_uk"
REQUIRED = ("crimeid", "month", "crimetype", "longitude", "latitude")


def detect(keys: set[str]) -> bool:
    return all(k in keys for k in REQUIRED)


def plan(header: Sequence[str], source: str = "") -> Plan:
    cols = {k: index_of(header, k) for k in ("Crime ID", "Month", "Crime type")}
    lon = index_of(header, "Longitude")
    lat = index_of(header, "Latitude")
    missing = [k for k, v in cols.items() if v is None] + [
        k for k, v in (("Longitude", lon), ("Latitude", lat)) if v is None
    ]
    if missing:
        raise MappingError(f"not a police.uk file: missing columns {missing}", source)
    location = index_of(header, "Location")
    return Plan(
        format=NAME,
        id_cols=[cols["Crime ID"]],  # type: ignore[list-item]
        date_cols=[cols["Month"]],  # type: ignore[list-item]
        parse_dates=parse_year_month,
        x_col=lon,  # type: ignore[arg-type]
        y_col=lat,  # type: ignore[arg-type]
        crs="EPSG:4326",
        category_cols=[cols["Crime type"]],  # type: ignore[list-item]
        address_cols=[location] if location is not None else [],
        district_col=index_of(header, "LSOA code"),
        synthetic_ids=True,
        date_precision="month",
        timezone="Europe/London",
    )
