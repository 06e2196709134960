"""Classical baselines: uniform, recent counts, KDE and the hotspot mapping methods."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Forecaster
from .counts import cell_counts
from .events import SECONDS_PER_DAY, Events
from .grid import Grid
from .kernels import convolve, gaussian_kernel, inverse_distance_kernel


def _age_days(events: Events, until: np.datetime64) -> np.ndarray:
    return (until - events.times) / np.timedelta64(1, "s") / SECONDS_PER_DAY


class UniformForecaster(Forecaster):
    """Every active cell gets the same score (the no-information baseline)."""

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        pass

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        return self._as_expected_counts(self.active_.astype(float), horizon_days)


class RecentCountsForecaster(Forecaster):
    """Count of target events per cell over the last ``days`` days."""

    def __init__(self, grid: Grid, target: Any = None, days: int = 28) -> None:
        super().__init__(grid, target)
        self.days = days

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        recent = target.subset(_age_days(target, until) <= self.days)
        self.field_ = cell_counts(self.grid, recent)

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        return self.field_ * (horizon_days / self.days)


# A long-memory KDE: narrow kernel, slow decay, three years of history. Hard to beat on
# stable hotspots; the portal's model cards and the benchmark use it as a baseline.
LONG_MEMORY_KDE: dict[str, Any] = {"bandwidth": 75.0, "decay_days": 365.0, "window_days": 1095}


class KDEForecaster(Forecaster):
    """Gaussian spatial kernel x exponential time decay (``decay_days`` = e-folding time).

    Implemented as the FFT convolution of a time-weighted count grid.
    """

    def __init__(
        self,
        grid: Grid,
        target: Any = None,
        bandwidth: float = 200.0,
        decay_days: float = 60.0,
        window_days: int = 365,
    ) -> None:
        super().__init__(grid, target)
        self.bandwidth = bandwidth
        self.decay_days = decay_days
        self.window_days = window_days

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        age = _age_days(target, until)
        keep = age <= self.window_days
        w = np.exp(-age[keep] / self.decay_days)
        counts = cell_counts(self.grid, target.subset(keep), weights=w).reshape(self.grid.shape)
        kernel = gaussian_kernel(self.bandwidth, self.grid.cell_size)
        self.field_ = convolve(counts, kernel).ravel()

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        return self._as_expected_counts(self.field_, horizon_days)


class RetrospectiveHotspotForecaster(Forecaster):
    """Kernel density of all target events in a long window, without time decay."""

    def __init__(
        self, grid: Grid, target: Any = None, bandwidth: float = 250.0, window_days: int = 365
    ) -> None:
        super().__init__(grid, target)
        self.bandwidth = bandwidth
        self.window_days = window_days

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        recent = target.subset(_age_days(target, until) <= self.window_days)
        counts = cell_counts(self.grid, recent).reshape(self.grid.shape)
        kernel = gaussian_kernel(self.bandwidth, self.grid.cell_size)
        self.field_ = convolve(counts, kernel).ravel()

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        return self._as_expected_counts(self.field_, horizon_days)


class ProspectiveHotspotForecaster(Forecaster):
    """Bowers, Johnson & Pease (2004) prospective hotspotting.

    Weight of an event ``d`` cells and ``w`` whole weeks old: ``1/(1+d) * 1/(1+w)`` within
    ``bandwidth`` metres and ``weeks`` weeks. Because the spatial kernel is shared by every week,
    the weekly grids are summed with their time weights first and convolved once.
    """

    def __init__(
        self, grid: Grid, target: Any = None, bandwidth: float = 400.0, weeks: int = 8
    ) -> None:
        super().__init__(grid, target)
        self.bandwidth = bandwidth
        self.weeks = weeks

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        week = np.floor(_age_days(target, until) / 7.0)
        keep = week < self.weeks
        w = 1.0 / (1.0 + week[keep])
        counts = cell_counts(self.grid, target.subset(keep), weights=w).reshape(self.grid.shape)
        kernel = inverse_distance_kernel(self.bandwidth, self.grid.cell_size)
        self.field_ = convolve(counts, kernel).ravel()

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        return self._as_expected_counts(self.field_, horizon_days)
