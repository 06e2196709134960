"""Common forecaster interface (scikit-learn style)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .events import SECONDS_PER_DAY, Events, as_time
from .grid import Grid

RATE_WINDOW_DAYS = 365
#: method name -> (class, default parameters): each concrete forecaster's ``methods``, entered
#: as its class is defined (``registry`` imports them all and sets the order pages list them)
METHODS: dict[str, tuple[type[Forecaster], dict[str, Any]]] = {}


@dataclass(frozen=True)
class Method:
    """A named method a forecaster class offers: what the UI shows and the portal compares.

    ``params`` are the defaults the name stands for; ``baseline`` methods are compared with
    every model in its backtest, together with their ``baseline_variants`` (name -> params).
    """

    label: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    baseline: bool = False
    baseline_variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    variant_notes: Mapping[str, str] = field(default_factory=dict)  # variant -> one line
    #: settings of the baseline in the training runs' comparison, where it is refitted at
    #: every window (e.g. fewer iterations when each fit starts from the previous one)
    baseline_params: Mapping[str, Any] = field(default_factory=dict)


class Forecaster(BaseEstimator):
    """Base class: ``fit(events, until)`` then ``predict(start, horizon_days)``.

    Subclasses implement ``_fit(target_events, all_events, until)`` and
    ``_predict_grid(start, horizon_days)`` returning one float per grid cell.
    ``fit`` itself drops every event at or after ``until`` before anything else sees them.

    Scores of methods with ``gives_counts = True`` are expected counts in the window.
    Baselines are rescaled so their active-area total equals the recent event rate x horizon.
    """

    gives_counts: ClassVar[bool] = True
    #: the method names this class offers (declared by each concrete class)
    methods: ClassVar[dict[str, Method]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, method in cls.__dict__.get("methods", {}).items():
            METHODS[name] = (cls, dict(method.params))

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

    def note(self, target: str = "target") -> str:
        """How this method scores a cell, in plain words, and what its explanation shows."""
        return "This method has no per-cell explanation."

    def explain_cells(self, start: Any, horizon_days: int, cells: np.ndarray,
                      top_k: int = 5) -> list[dict[str, Any]]:
        """One JSON-ready explanation per cell of ``cells`` (flat grid indices) of the fitted
        forecast for ``[start, start + horizon_days)``; ``{"kind": "method"}``: described by
        the method alone."""
        return [{"kind": "method"} for _ in np.asarray(cells)]

    @classmethod
    def cell_words(cls, explanation: dict[str, Any], target: str = "target",
                   cell_size_m: float = 0.0) -> dict[str, list]:
        """A stored explanation (from :meth:`explain_cells`) in plain words: ``lines`` (one
        sentence per reason) and ``features`` (the ML models' strongest features)."""
        return {"lines": [], "features": []}

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


def make_forecaster(name: str, **params: Any) -> Forecaster:
    """Instantiate method ``name``; ``params`` (must include ``grid``) override defaults."""
    try:
        cls, defaults = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; one of {sorted(METHODS)}") from None
    if "grid" not in params:
        raise TypeError("make_forecaster needs grid=...")
    return cls(**{**defaults, **params})
