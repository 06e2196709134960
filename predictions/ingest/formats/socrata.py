"""Socrata exports as published by Chicago (``ID``, ``Case Number``, ``Date``,
``Primary Type``...) and San Francisco (``Row ID``/``Incident ID``, ``Incident Datetime``,
``Incident Category``...).

``source_id`` is Chicago's ``ID`` (unique per record; ``Case Number`` when absent) or SF's
``Row ID`` (``Incident ID`` when absent). ``raw_category`` joins the primary and secondary
texts (``THEFT - OVER $500``, ``Larceny Theft - Larceny - From Vehicle``). Positions come
from ``Longitude``/``Latitude`` (WGS84); rows without them are rejected unless the caller
asks for ``missing_location="withheld"`` (Chicago withholds some locations).
Headers are matched by letters and digits only, so the portals' API exports
(``case_number``, ``primary_type``...) read too; their ISO dates are accepted beside the
CSV downloads' ``MM/DD/YYYY hh:mm:ss AM`` dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ..dates import parse_us_or_iso_datetimes
from ..errors import MappingError
from .tabular import Plan, index_of

NAME = "socrata"
CHICAGO = ("id", "casenumber", "date", "primarytype")
SAN_FRANCISCO = ("incidentdatetime", "incidentcategory")


def detect(keys: set[str]) -> bool:
    return all(k in keys for k in CHICAGO) or all(k in keys for k in SAN_FRANCISCO)


def plan(header: Sequence[str], source: str = "") -> Plan:
    lon = index_of(header, "Longitude")
    lat = index_of(header, "Latitude")
    if index_of(header, "Primary Type") is not None:
        ident = index_of(header, "ID", "Case Number")
        when = [index_of(header, "Date")]
        cats = [index_of(header, "Primary Type"), index_of(header, "Description")]
        address = [index_of(header, "Block")]
        district = index_of(header, "District")
        tz = "America/Chicago"
    else:
        ident = index_of(header, "Row ID", "Incident ID")
        when = [index_of(header, "Incident Datetime")]
        cats = [index_of(header, "Incident Category"), index_of(header, "Incident Subcategory")]
        address = [index_of(header, "Intersection")]
        district = index_of(header, "Police District")
        tz = "America/Los_Angeles"
    needed = {"id": ident, "date": when[0], "category": cats[0], "lon": lon, "lat": lat}
    missing = [k for k, v in needed.items() if v is None]
    if missing or ident is None or lon is None or lat is None:
        raise MappingError(f"not a Socrata crime export: missing columns {missing}", source)
    return Plan(
        format=NAME,
        id_cols=[ident],
        date_cols=[c for c in when if c is not None],
        parse_dates=partial(parse_us_or_iso_datetimes, tz_name=tz),
        x_col=lon,
        y_col=lat,
        crs="EPSG:4326",
        category_cols=[c for c in cats if c is not None],
        address_cols=[c for c in address if c is not None],
        district_col=district,
        date_precision="second",
        timezone=tz,
    )
