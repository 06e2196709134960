"""St. Louis Metropolitan Police Department monthly CSV releases (2008 onwards layout).

* ``source_id`` is ``Complaint:Crime`` (e.g. ``15-000012:41011``), not the bare complaint:
  in 2015-2019 about 7 % of the ``Count = -1`` rows cancel a code that the complaint
  carried *before* a reclassification while the new code's ``+1`` row stays valid;
  keyed on the complaint alone those would wrongly cancel the current record. The id is
  not unique: one complaint lists one row per victim/offence (4,298 complaint+code pairs
  repeat), and a cancellation removes one of them.
* ``DateOccur`` ``M/D/YYYY H:MM`` is local America/Chicago time.
* ``XCoord``/``YCoord`` are NAD83 Missouri East, US feet (ESRI:102696); ``0,0`` means the
  location is withheld (kept with ``location_withheld``).
* Column names vary by month (May 2017: ``Date Occur``, ``X-Coord``... plus extra columns):
  headers are matched by letters and digits only.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..builder import strip_all
from ..dates import parse_us_datetimes
from ..errors import MappingError
from .tabular import Column, Plan, index_of, norm_header

NAME = "slmpd"
CRS = "ESRI:102696"
TIMEZONE = "America/Chicago"
REQUIRED = ("complaint", "dateoccur", "count", "description", "xcoord", "ycoord")


def detect(keys: set[str]) -> bool:
    return all(k in keys for k in REQUIRED)


def plan(header: Sequence[str], source: str = "") -> Plan:
    keys = [norm_header(h) for h in header]
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        raise MappingError(f"not an SLMPD file: missing columns {missing}", source)

    def col(name: str) -> int:
        return keys.index(name)

    crime = index_of(header, "Crime")
    number = index_of(header, "ILEADSAddress")
    street = index_of(header, "ILEADSStreet")

    def address(col: Column, n: int) -> list[str | None]:
        """``"1700 HAMILTON AVE"``; the street alone when the number is empty or 0."""
        if street is None:
            return [None] * n
        names = strip_all(col(street))
        if number is None:
            return [s or None for s in names]
        return [
            f"{a} {s}" if a and a != "0" and s else (s or None)
            for a, s in zip(strip_all(col(number)), names, strict=True)
        ]

    return Plan(
        format=NAME,
        id_cols=[col("complaint")] + ([crime] if crime is not None else []),
        date_cols=[col("dateoccur")],
        parse_dates=parse_us_datetimes,
        x_col=col("xcoord"),
        y_col=col("ycoord"),
        crs=CRS,
        category_cols=[col("description")],
        district_col=index_of(header, "District"),
        count_col=col("count"),
        timezone=TIMEZONE,
        address_fn=address,
        extra_cols=[c for c in (number, street) if c is not None],
    )
