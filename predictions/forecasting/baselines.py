"""Classical baselines: uniform, recent counts, KDE and the hotspot mapping methods."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Forecaster, Method
from .counts import cell_counts
from .events import Events, days_before
from .explain import rounded, say
from .grid import Grid
from .kernels import convolve, gaussian_kernel, inverse_distance_kernel


def _age_days(events: Events, until: np.datetime64) -> np.ndarray:
    return days_before(until, events.times)


class UniformForecaster(Forecaster):
    """Every active cell gets the same score (the no-information baseline)."""

    methods: ClassVar[dict[str, Method]] = {"uniform": Method(
        "Uniform", "Every cell the same score: the no-information baseline.", baseline=True)}

    def note(self, target: str = "target") -> str:
        return "Uniform: every cell gets the same score, so there is nothing to explain."

    def explain_cells(self, start: Any, horizon_days: int, cells: np.ndarray,
                      top_k: int = 5) -> list[dict[str, Any]]:
        return [{"kind": "uniform"} for _ in cells]

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        pass

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        return self._as_expected_counts(self.active_.astype(float), horizon_days)


class RecentCountsForecaster(Forecaster):
    """Count of target events per cell over the last ``days`` days."""

    methods: ClassVar[dict[str, Method]] = {"recent_counts": Method(
        "Recent counts", "Each cell's count over the last weeks, scaled to the window.",
        baseline=True, baseline_variants={"recent_counts_365": {"days": 365}},
        variant_notes={"recent_counts_365": "Each cell's count over the last year, scaled to "
                                            "the window: steady places."})}

    def __init__(self, grid: Grid, target: Any = None, days: int = 28) -> None:
        super().__init__(grid, target)
        self.days = days

    def note(self, target: str = "target") -> str:
        return (f"Recent counts: the number of {target} incidents in the cell over the last "
                f"{self.days} days, scaled to the window.")

    def explain_cells(self, start: Any, horizon_days: int, cells: np.ndarray,
                      top_k: int = 5) -> list[dict[str, Any]]:
        return [{"kind": "counts", "count": rounded(self.field_[c]), "days": int(self.days)}
                for c in cells]

    @classmethod
    def cell_words(cls, explanation: dict[str, Any], target: str = "target",
                   cell_size_m: float = 0.0) -> dict[str, list]:
        return {"lines": [f"{say(explanation['count'])} {target} incidents in this cell in the "
                          f"last {explanation['days']} days."], "features": []}

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

    methods: ClassVar[dict[str, Method]] = {"kde": Method(
        "Kernel density", "Recent incidents weighted by distance and age.", baseline=True,
        baseline_variants={"kde_long": LONG_MEMORY_KDE},
        variant_notes={"kde_long": "Kernel density with a long memory: a narrow kernel "
                                   "(75 m), fading over a year, three years of incidents."})}

    def note(self, target: str = "target") -> str:
        return (f"Kernel density: past {target} incidents weighted by distance (Gaussian, "
                f"{self.bandwidth:g} m) and age (fading over {self.decay_days:g} days, last "
                f"{self.window_days} days). No per-feature explanation: the recent incidents "
                "near the cell are what it weighs.")

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

    methods: ClassVar[dict[str, Method]] = {"retrospective_hotspot": Method(
        "Retrospective hotspot", "Density of the last months' incidents, without time decay.")}

    def note(self, target: str = "target") -> str:
        return (f"Retrospective hotspot: density of all {target} incidents of the last "
                f"{self.window_days} days (Gaussian, {self.bandwidth:g} m), without time "
                "decay. No per-feature explanation.")

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

    methods: ClassVar[dict[str, Method]] = {"prospective_hotspot": Method(
        "Prospective hotspot", "Recent nearby incidents, the nearer and newer the more "
        "(Bowers et al. 2004).", baseline=True)}

    def note(self, target: str = "target") -> str:
        return (f"Prospective hotspot: {target} incidents of the last {self.weeks} weeks "
                f"within {self.bandwidth:g} m, weighted by 1/(1 + distance in cells) x "
                "1/(1 + age in weeks). No per-feature explanation: the recent incidents near "
                "the cell are what it weighs.")

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
