"""Common forecaster interface (scikit-learn style)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .events import SECONDS_PER_DAY, Events, as_time
from .grid import Grid

RATE_WINDOW_DAYS = 365


class Forecaster(BaseEstimator):
    """Base class: ``fit(events, until)`` then ``predict(start, horizon_days)``.

    Subclasses implement ``_fit(target_events, all_events, until)`` and
    ``_predict_grid(start, horizon_days)`` returning one float per grid cell.
    ``fit`` itself drops every event at or after ``until`` before anything else sees them.

    Scores of methods with ``gives_counts = True`` are expected counts in the window.
    Baselines are rescaled so their active-area total equals the recent event rate x horizon.
    """

    gives_counts: ClassVar[bool] = True

    def __init__(self, grid: Grid, target: Any = None) -> None:
        self.grid = grid
        self.target = target

    # public API -----------------------------------------------------------------------------
    def fit(self, events: Events, until: Any) -> Forecaster:
        """Fit on events strictly before ``until`` (target category selected by ``self.target``)."""
        until = as_time(until)
        past = events.before(until)
        target = past.of_category(self.target)
        self.until_ = until
        self.active_ = self.grid.active_mask(past)
        self.recent_rate_ = _daily_rate(target, until)
        self._fit(target, past, until)
        return self

    def predict_grid(self, start: Any, horizon_days: int) -> np.ndarray:
        """Scores for every grid cell (flat row-major) for the window ``[start, start+h days)``."""
        if not hasattr(self, "until_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        start = as_time(start)
        if start < self.until_:
            raise ValueError("prediction window starts before the end of the training data")
        if int(horizon_days) < 1:
            raise ValueError("horizon_days must be >= 1")
        out = np.asarray(self._predict_grid(start, int(horizon_days)), float)
        return out.reshape(self.grid.n_cells)

    def predict(self, start: Any, horizon_days: int) -> np.ndarray:
        """Scores for the active cells only (in flat index order of ``np.flatnonzero(active_)``)."""
        return self.predict_grid(start, horizon_days)[self.active_]

    # helpers for subclasses -----------------------------------------------------------------
    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        raise NotImplementedError

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        raise NotImplementedError

    def _as_expected_counts(self, field: np.ndarray, horizon_days: int) -> np.ndarray:
        """Rescale a non-negative field so the active cells sum to rate x horizon."""
        field = np.asarray(field, float).reshape(self.grid.n_cells)
        total = field[self.active_].sum()
        if total <= 0:
            field = np.ones(self.grid.n_cells)
            total = float(self.active_.sum()) or 1.0
        return field * (self.recent_rate_ * horizon_days / total)


def _daily_rate(target: Events, until: np.datetime64, days: int = RATE_WINDOW_DAYS) -> float:
    """Target events per day over the last ``days`` days (or the span of the data if shorter)."""
    if len(target) == 0:
        return 0.0
    start = until - np.timedelta64(days, "D")
    recent = target.times >= start
    span = (until - max(target.times.min(), start)) / np.timedelta64(1, "s") / SECONDS_PER_DAY
    return float(recent.sum()) / max(span, 1.0)
