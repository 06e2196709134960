"""Incident events: times (local wall clock), metric coordinates and a category."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .grid import Grid

DAY = np.timedelta64(1, "D")
SECONDS_PER_DAY = 86400.0


def as_time(value: Any) -> np.datetime64:
    """A scalar ``datetime64[s]`` from a datetime, date, ISO string or datetime64."""
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[s]")
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        value = value.replace(tzinfo=None)  # local wall-clock time by convention
    return np.datetime64(value, "s")


def day_floor(value: Any) -> np.datetime64:
    """Midnight at or before ``value`` as ``datetime64[D]``."""
    return as_time(value).astype("datetime64[D]")


def day_ceil(value: Any) -> np.datetime64:
    """First midnight at or after ``value`` as ``datetime64[D]``."""
    t = as_time(value)
    d = t.astype("datetime64[D]")
    return d if d == t else d + DAY



def days_before(later: Any, earlier: np.ndarray) -> np.ndarray:
    """Days (float) from each time of `earlier` to `later`."""
    seconds = (later - earlier) / np.timedelta64(1, "s")
    return seconds / SECONDS_PER_DAY

@dataclass(frozen=True)
class Events:
    """Point events. ``times`` is ``datetime64[s]``; ``x``/``y`` are metres in the grid CRS."""

    times: np.ndarray
    x: np.ndarray
    y: np.ndarray
    category: np.ndarray

    def __post_init__(self) -> None:
        times = np.asarray(self.times).astype("datetime64[s]")
        x = np.asarray(self.x, float)
        y = np.asarray(self.y, float)
        cat = np.asarray(self.category)
        if cat.ndim == 0:
            cat = np.full(times.shape, cat.item())
        if not (times.ndim == 1 and times.shape == x.shape == y.shape == cat.shape):
            raise ValueError("times, x, y and category must be 1-D arrays of equal length")
        for name, arr in (("times", times), ("x", x), ("y", y), ("category", cat)):
            object.__setattr__(self, name, arr)

    @classmethod
    def from_lonlat(
        cls, times: Any, lon: np.ndarray, lat: np.ndarray, category: Any, grid: Grid
    ) -> Events:
        """Events with lon/lat projected into ``grid``'s CRS."""
        x, y = grid.project(lon, lat)
        return cls(np.asarray(times), x, y, category)

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def subset(self, mask: np.ndarray | slice) -> Events:
        """Events selected by a boolean mask or index array."""
        return Events(self.times[mask], self.x[mask], self.y[mask], self.category[mask])

    def of_category(self, category: Any | Iterable[Any] | None) -> Events:
        """Events of one category or any of several; ``None`` keeps all."""
        if category is None:
            return self
        if isinstance(category, str | bytes) or np.ndim(cast(Any, category)) == 0:
            return self.subset(self.category == category)
        return self.subset(np.isin(self.category, list(category)))

    def before(self, t: Any) -> Events:
        """Events strictly before ``t``."""
        return self.subset(self.times < as_time(t))

    def between(self, start: Any, end: Any) -> Events:
        """Events in ``[start, end)``."""
        return self.subset((self.times >= as_time(start)) & (self.times < as_time(end)))

    def sorted(self) -> Events:
        """Events in time order (stable)."""
        return self.subset(np.argsort(self.times, kind="stable"))

    def concat(self, other: Events) -> Events:
        """Both event sets, self first."""
        return Events(
            np.concatenate([self.times, other.times]),
            np.concatenate([self.x, other.x]),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.category, other.category]),
        )
