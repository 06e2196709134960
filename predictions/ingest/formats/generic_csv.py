"""Any CSV with a column mapping (a JSON object).

Keys (values are column names unless said otherwise):

* ``id`` - incident id (required)
* ``datetime`` - date and time in one column, or ``date`` plus optional ``time`` (joined
  with a space before parsing)
* ``datetime_format`` - a strptime format for that text; ISO 8601 when absent
* ``x``, ``y`` - longitude/latitude or projected easting/northing (required)
* ``crs`` - ``EPSG:4326`` by default; any pyproj code (``EPSG:2913``, ``ESRI:102696``)
* ``category`` - offence text column, or a list of columns joined with `` - `` (required)
* ``address``, ``district`` - optional
* ``timezone`` - optional IANA zone of the wall-clock times (needed to read ISO values
  that carry a UTC offset)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..dates import parse_iso_datetimes, parse_with_format
from ..errors import MappingError
from ..geo import parse_crs
from .tabular import Plan, norm_header

NAME = "generic_csv"
COLUMN_KEYS = ("id", "datetime", "date", "time", "x", "y", "category", "address", "district")
OTHER_KEYS = ("datetime_format", "crs", "timezone")
ALLOWED = frozenset(COLUMN_KEYS + OTHER_KEYS)


def validate_mapping(mapping: Any) -> dict[str, Any]:
    """Check the mapping's own shape (keys, types, CRS, zone); returns a clean copy."""
    if not isinstance(mapping, Mapping):
        raise MappingError("the column mapping must be a JSON object")
    unknown = sorted(set(mapping) - ALLOWED)
    if unknown:
        raise MappingError(f"unknown mapping keys {unknown}; allowed: {sorted(ALLOWED)}")
    missing = [k for k in ("id", "x", "y", "category") if not mapping.get(k)]
    if not mapping.get("datetime") and not mapping.get("date"):
        missing.append("datetime (or date)")
    if missing:
        raise MappingError(f"the column mapping lacks {missing}")
    if mapping.get("datetime") and mapping.get("date"):
        raise MappingError("give either 'datetime' or 'date' (+ 'time'), not both")
    if mapping.get("time") and not mapping.get("date"):
        raise MappingError("'time' needs 'date'")
    for key in COLUMN_KEYS:
        value = mapping.get(key)
        if value is None:
            continue
        names = value if key == "category" and isinstance(value, list) else [value]
        if not names or not all(isinstance(v, str) and v for v in names):
            raise MappingError(f"mapping key {key!r} must name a column")
    fmt = mapping.get("datetime_format")
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        raise MappingError("'datetime_format' must be a strptime format such as '%d/%m/%Y %H:%M'")
    try:
        parse_crs(mapping.get("crs") or "EPSG:4326")
    except ValueError as exc:
        raise MappingError(str(exc)) from exc
    tz = mapping.get("timezone")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise MappingError(f"unknown timezone {tz!r}") from exc
    return dict(mapping)


def _find(header: Sequence[str], name: str) -> int | None:
    if name in header:
        return list(header).index(name)
    keys = [norm_header(h) for h in header]
    key = norm_header(name)
    return keys.index(key) if key and key in keys else None


def plan(header: Sequence[str], mapping: Any, source: str = "") -> Plan:
    m = validate_mapping(mapping)
    idx: dict[str, list[int]] = {}
    absent: list[str] = []
    for key in COLUMN_KEYS:
        value = m.get(key)
        if value is None:
            continue
        names = value if isinstance(value, list) else [value]
        found = [_find(header, n) for n in names]
        absent += [f"{key}={n!r}" for n, i in zip(names, found, strict=True) if i is None]
        idx[key] = [i for i in found if i is not None]
    if absent:
        raise MappingError(
            f"mapped columns not in the file: {', '.join(absent)}; file columns: {list(header)}",
            source,
        )
    tz = m.get("timezone")
    fmt = m.get("datetime_format")
    parse = (
        partial(parse_with_format, fmt=fmt, tz_name=tz)
        if fmt
        else partial(parse_iso_datetimes, tz_name=tz)
    )
    date_cols = idx.get("datetime") or idx["date"] + idx.get("time", [])
    precision = "day" if "date" in idx and "time" not in idx else "minute"
    return Plan(
        format=NAME,
        id_cols=idx["id"],
        date_cols=date_cols,
        parse_dates=parse,
        x_col=idx["x"][0],
        y_col=idx["y"][0],
        crs=m.get("crs") or "EPSG:4326",
        category_cols=idx["category"],
        address_cols=idx.get("address", []),
        district_col=idx["district"][0] if "district" in idx else None,
        date_precision=precision,
        timezone=tz,
    )
