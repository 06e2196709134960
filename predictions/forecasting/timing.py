"""When incidents happen: an hour-of-day by day-of-week matrix and a month-of-year profile.

Arrays in and out: grouped counts (hour 0-23, weekday 0 = Monday .. 6 = Sunday, month 1-12,
each with its count) become dense tables; `heat_levels` grades a table's cells for a heat
table (the numbers stay visible beside the shade).
"""

from __future__ import annotations

from typing import Any

import numpy as np

HOURS, WEEKDAYS, MONTHS = 24, 7, 12
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def _check(values: np.ndarray, low: int, high: int, name: str) -> np.ndarray:
    values = np.asarray(values, np.int64)
    if values.size and (values.min() < low or values.max() > high):
        raise ValueError(f"{name} must be between {low} and {high}")
    return values


def hour_weekday_matrix(hour: np.ndarray, weekday: np.ndarray, n: np.ndarray) -> np.ndarray:
    """A (24, 7) table of counts: row = hour of day, column = weekday (0 = Monday)."""
    out = np.zeros((HOURS, WEEKDAYS), np.int64)
    np.add.at(out, (_check(hour, 0, 23, "hour"), _check(weekday, 0, 6, "weekday")),
              np.asarray(n, np.int64))
    return out


def month_profile(month: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Counts per calendar month (index 0 = January)."""
    out = np.zeros(MONTHS, np.int64)
    np.add.at(out, _check(month, 1, 12, "month") - 1, np.asarray(n, np.int64))
    return out


def month_exposure(first: Any, end: Any) -> np.ndarray:
    """How many days of each calendar month lie in ``[first, end)``: what a month-of-year
    profile is divided by, so that a month covered once more than the others does not stand
    out for that alone."""
    start = np.asarray(first, "datetime64[D]")
    n = int((np.asarray(end, "datetime64[D]") - start).astype(np.int64))
    days = start + np.arange(max(n, 0)).astype("timedelta64[D]")
    months = days.astype("datetime64[M]").astype(np.int64) % 12
    return np.bincount(months, minlength=MONTHS).astype(np.int64)


def per_day(counts: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Counts divided by days (NaN where there are no days)."""
    counts, days = np.asarray(counts, float), np.asarray(days, float)
    out = np.full(np.broadcast(counts, days).shape, np.nan)
    np.divide(counts, days, out=out, where=days > 0)
    return out


def heat_levels(values: np.ndarray, levels: int = 6, *, from_least: bool = False) -> np.ndarray:
    """Each cell's shade, 0 (none) to `levels` (the largest), in proportion to the largest
    cell; any cell above zero gets at least shade 1. `from_least`: in proportion to where it
    lies between the smallest cell (shade 1) and the largest, for profiles whose cells are all
    alike in size (months of a year)."""
    values = np.nan_to_num(np.asarray(values, float), nan=0.0)
    top = float(values.max()) if values.size else 0.0
    if top <= 0:
        return np.zeros(values.shape, np.int64)
    if from_least:
        low = float(values.min())
        if top == low:
            return np.full(values.shape, levels, np.int64)
        shade = 1 + np.floor((values - low) / (top - low) * (levels - 1) + 0.5)
        return np.clip(shade, 1, levels).astype(np.int64)
    shade = np.ceil(values / top * levels).astype(np.int64)
    return np.clip(shade, 0, levels)


def shares(table: np.ndarray) -> np.ndarray:
    """Each cell as a percentage of the table's total (zeros for an empty table)."""
    table = np.asarray(table, float)
    total = table.sum()
    return table * (100.0 / total) if total > 0 else np.zeros(table.shape)
