"""Counts per period (week or month), the same period a year before, the change in percent.

Arrays in and out: period starts are ``datetime64[D]`` (weeks start on Monday, months on the
1st), counts are integers on the last axis (one row per category when 2-D). A week's "same
period last year" is the week 52 weeks (364 days) before: the same weekdays, as CompStat
compares them; a month's is the same calendar month a year before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PERIODS = ("week", "month")
# the periods of a year, for "same period last year"
PER_YEAR = {"week": 52, "month": 12}


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    return period


def period_start(days: np.ndarray, period: str) -> np.ndarray:
    """The start of the period holding each day (``datetime64[D]``)."""
    days = np.asarray(days, "datetime64[D]")
    if check_period(period) == "month":
        return days.astype("datetime64[M]").astype("datetime64[D]")
    # 1970-01-01 was a Thursday: shift so that weeks start on Monday
    offset = (days.astype(np.int64) + 3) % 7
    return days - offset.astype("timedelta64[D]")


def period_range(first: np.datetime64, last: np.datetime64, period: str) -> np.ndarray:
    """Consecutive period starts from the period holding `first` to the one holding `last`."""
    a, b = period_start(np.array([first, last]), period)
    if check_period(period) == "month":
        return np.arange(a.astype("datetime64[M]"), b.astype("datetime64[M]") + 1).astype(
            "datetime64[D]")
    return np.arange(a, b + 7, 7).astype("datetime64[D]")


def period_days(starts: np.ndarray, period: str) -> np.ndarray:
    """How many days each period has (7 for weeks; 28 to 31 for months)."""
    starts = np.asarray(starts, "datetime64[D]")
    if check_period(period) == "month":
        ends = (starts.astype("datetime64[M]") + 1).astype("datetime64[D]")
        return (ends - starts).astype(np.int64)
    return np.full(starts.shape, 7, np.int64)


def dense_counts(starts: np.ndarray, counts: np.ndarray, on: np.ndarray) -> np.ndarray:
    """The counts given for some period starts, on the consecutive periods `on` (0 where no
    count is given). Starts outside `on` are ignored."""
    out = np.zeros(len(on), np.int64)
    starts = np.asarray(starts, "datetime64[D]")
    at = np.searchsorted(on, starts)
    ok = (at < len(on)) & (on[np.minimum(at, len(on) - 1)] == starts) if len(on) else at < 0
    np.add.at(out, at[ok], np.asarray(counts, np.int64)[ok])
    return out


def last_year(values: np.ndarray, period: str) -> np.ndarray:
    """Each period's value a year before (NaN for the first year, which has none); `values`
    are on consecutive periods along the last axis."""
    lag = PER_YEAR[check_period(period)]
    values = np.asarray(values, float)
    out = np.full(values.shape, np.nan)
    if values.shape[-1] > lag:
        out[..., lag:] = values[..., :-lag]
    return out


def percent_change(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """100 * (now - before) / before; NaN where `before` is 0 or unknown (no percentage of
    nothing)."""
    now, before = np.asarray(now, float), np.asarray(before, float)
    out = np.full(np.broadcast(now, before).shape, np.nan)
    ok = np.isfinite(before) & (before > 0)
    np.divide(100.0 * (now - before), before, out=out, where=ok)
    return out


@dataclass(frozen=True)
class Trend:
    """Counts on consecutive periods, each with the same period a year before and the change."""

    period: str
    starts: np.ndarray  # datetime64[D], consecutive periods
    counts: np.ndarray  # (..., periods)
    last_year: np.ndarray  # float, NaN where unknown
    change: np.ndarray  # percent, NaN where the year before is 0 or unknown


def trend(starts: np.ndarray, counts: np.ndarray, *, period: str) -> Trend:
    """A `Trend` of counts already on consecutive periods `starts` (last axis)."""
    counts = np.asarray(counts, np.int64)
    before = last_year(counts, period)
    return Trend(period, np.asarray(starts, "datetime64[D]"), counts, before,
                 percent_change(counts, before))


def complete_periods(starts: np.ndarray, period: str, end: Any) -> np.ndarray:
    """Which periods ended on or before `end` (an exclusive day: data runs to the day before)."""
    starts = np.asarray(starts, "datetime64[D]")
    return starts + period_days(starts, period).astype("timedelta64[D]") <= np.asarray(
        end, "datetime64[D]")
