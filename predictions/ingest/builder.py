"""Turn one stretch of parsed columns into a validated :class:`Batch` plus its RowErrors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np

from predictions.taxonomy import CategoryMapper

from . import errors as E
from .errors import RowError
from .geo import Area, to_wgs84, valid_lonlat
from .records import Batch

DEFAULT_MIN_DATE = date(1970, 1, 1)


def default_date_range() -> tuple[date, date]:
    """1970-01-01 up to tomorrow (future dates and 1900-style placeholders are rejected)."""
    return DEFAULT_MIN_DATE, date.today() + timedelta(days=1)


@dataclass
class Options:
    """Validation options shared by all formats."""

    date_range: tuple[date | datetime, date | datetime] = field(default_factory=default_date_range)
    area: Area | None = None
    missing_location: Literal["reject", "withheld"] = "reject"
    strict_categories: bool = False
    category_overrides: dict[str, str | None] = field(default_factory=dict)
    timezone: str | None = None
    batch_size: int = 10_000

    def date_bounds(self) -> tuple[np.datetime64, np.datetime64]:
        lo, hi = self.date_range
        lo64 = np.datetime64(lo, "s")
        hi64 = np.datetime64(hi, "s")
        if not isinstance(hi, datetime):
            hi64 = hi64 + np.timedelta64(86399, "s")  # a date bound includes the whole day
        return lo64, hi64


def to_floats(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers; returns (values with NaN for blanks/bad, mask of non-blank bad text)."""
    try:
        arr = np.fromiter(map(float, values), dtype=np.float64, count=len(values))
        if np.isfinite(arr).all():
            return arr, np.zeros(len(arr), dtype=bool)
    except ValueError:
        pass
    n = len(values)
    out = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    for i, v in enumerate(values):
        v = v.strip()
        if not v:
            continue
        try:
            f = float(v)
        except ValueError:
            bad[i] = True
            continue
        if math.isfinite(f):
            out[i] = f
        else:
            bad[i] = True
    return out, bad


def strip_all(values: Sequence[str]) -> Sequence[str]:
    """Strip every value, skipping the per-value work when no value has edge whitespace
    (checked with a few C-level substring searches over the joined column)."""
    joined = "\x1f".join(values)
    if (
        joined[:1].isspace()
        or joined[-1:].isspace()
        or " \x1f" in joined
        or "\x1f " in joined
        or "\t" in joined
        or "\r" in joined
        or "\n" in joined
    ):
        return [v.strip() for v in values]
    return list(values)


def _obj(values: Sequence[object]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


@dataclass
class Columns:
    """Format-neutral columns for one stretch of rows (all the same length)."""

    row_number: np.ndarray
    raw_rows: list[dict[str, str]] | Sequence[Sequence[str]]
    ids: Sequence[str]  # stripped
    occurred_at: np.ndarray
    x: np.ndarray
    y: np.ndarray
    raw_category: Sequence[str]
    address: list[str | None]
    district: list[str | None]
    coord_bad: np.ndarray | None = None
    cancels: np.ndarray | None = None
    pre_errors: dict[int, tuple[str, str]] = field(default_factory=dict)


class BatchBuilder:
    """Validates columns for one file and builds batches (first failing check wins)."""

    def __init__(
        self,
        *,
        source: str,
        format: str,
        crs: str,
        options: Options,
        mapper: CategoryMapper,
        header: Sequence[str] | None = None,
        zero_is_withheld: bool = True,
        date_precision: str = "minute",
        timezone: str | None = None,
    ) -> None:
        self.source = source
        self.format = format
        self.crs = crs
        self.options = options
        self.mapper = mapper
        self.header = list(header) if header is not None else None
        self.zero_is_withheld = zero_is_withheld
        self.date_precision = date_precision
        self.timezone = timezone or options.timezone
        self.lo, self.hi = options.date_bounds()

    def _raw(self, cols: Columns, i: int) -> dict[str, str]:
        row = cols.raw_rows[i]
        if isinstance(row, dict):
            return row
        header = self.header or [str(k) for k in range(len(row))]
        raw = {h: "" if v is None else str(v) for h, v in zip(header, row, strict=False)}
        if len(row) > len(header):
            raw["(extra fields)"] = ",".join(str(v) for v in row[len(header) :])
        return raw

    def build(self, cols: Columns) -> Batch:
        n = len(cols.ids)
        reason = np.zeros(n, dtype=object)
        detail = np.zeros(n, dtype=object)
        fail = np.zeros(n, dtype=bool)

        def reject(mask: np.ndarray, code: str, text: str | Sequence[str] = "") -> None:
            new = mask & ~fail
            if new.any():
                reason[new] = code
                if isinstance(text, str):
                    detail[new] = text
                else:
                    detail[new] = np.asarray(text, dtype=object)[new]
                fail[new] = True

        for i, (code, text) in cols.pre_errors.items():
            reason[i], detail[i], fail[i] = code, text, True
        ids = _obj(cols.ids)
        reject(ids == "", E.MISSING_ID)
        cancels = cols.cancels if cols.cancels is not None else np.zeros(n, dtype=bool)
        rec = ~cancels

        when = cols.occurred_at
        nat = np.isnat(when)
        reject(rec & nat, E.UNPARSEABLE_DATE)
        with np.errstate(invalid="ignore"):
            out_of_range = ~nat & ((when < self.lo) | (when > self.hi))
        reject(rec & out_of_range, E.DATE_OUT_OF_RANGE, f"accepted {self.lo} to {self.hi}")

        x, y = cols.x, cols.y
        blank = np.isnan(x) | np.isnan(y)
        bad = cols.coord_bad if cols.coord_bad is not None else np.zeros(n, dtype=bool)
        withheld = np.zeros(n, dtype=bool)
        if self.zero_is_withheld:
            withheld |= (x == 0) & (y == 0)
        reject(rec & bad, E.INVALID_COORDINATES, "not a number")
        if self.options.missing_location == "withheld":
            withheld |= blank & ~bad
        else:
            reject(rec & blank & ~bad, E.MISSING_COORDINATES)
        located = ~withheld & ~blank & ~bad
        xs = np.where(located, x, np.nan)
        ys = np.where(located, y, np.nan)
        lon, lat = to_wgs84(xs, ys, self.crs)
        reject(rec & located & ~valid_lonlat(lon, lat), E.INVALID_COORDINATES, "not a position")
        if self.options.area is not None:
            ok = valid_lonlat(lon, lat)
            inside = np.zeros(n, dtype=bool)
            inside[ok] = self.options.area.contains(lon[ok], lat[ok])
            reject(rec & located & ok & ~inside, E.OUT_OF_AREA)
        lon[withheld] = np.nan
        lat[withheld] = np.nan

        raw_cat = strip_all(cols.raw_category)
        cats = _obj(self.mapper.map_list(raw_cat))
        if self.options.strict_categories:
            unmapped = np.array([c is None for c in cats], dtype=bool)
            reject(rec & unmapped, E.UNKNOWN_CATEGORY)

        errs = [
            RowError(
                row_number=int(cols.row_number[i]),
                reason=str(reason[i]),
                raw=self._raw(cols, int(i)),
                source=self.source,
                detail=str(detail[i] or ""),
            )
            for i in np.flatnonzero(fail)
        ]
        keep = ~fail
        return Batch(
            source=self.source,
            format=self.format,
            source_id=ids[keep],
            occurred_at=when[keep],
            raw_category=_obj(raw_cat)[keep],
            category=cats[keep],
            lon=lon[keep],
            lat=lat[keep],
            address=_obj(cols.address)[keep],
            district=_obj(cols.district)[keep],
            location_withheld=withheld[keep],
            cancels=cancels[keep],
            row_number=np.asarray(cols.row_number, dtype=np.int64)[keep],
            date_precision=self.date_precision,
            timezone=self.timezone,
            errors=errs,
        )
