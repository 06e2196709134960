"""Ensemble of forecasters: weighted mean of normalised member scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from .base import Forecaster
from .events import Events
from .grid import Grid

MemberSpec = str | tuple[str, dict[str, Any]]


class EnsembleForecaster(Forecaster):
    """Combine member forecasters fitted on the same data.

    ``combine="share"``: each member's active-cell scores divided by their sum (a risk
    distribution), averaged with ``weights``, rescaled to the recent rate (expected counts).
    ``combine="rank"``: mean of average ranks scaled to (0, 1] (robust to scale, not a count).
    ``horizon_days`` is passed to members that take it (the ML forecasters).
    """

    def __init__(
        self,
        grid: Grid,
        target: Any = None,
        members: tuple[MemberSpec, ...] = ("hgb_poisson", "kde"),
        weights: tuple[float, ...] | None = None,
        combine: str = "share",
        horizon_days: int = 7,
    ) -> None:
        super().__init__(grid, target)
        self.members = members
        self.weights = weights
        self.combine = combine
        self.horizon_days = horizon_days

    @property
    def gives_counts(self) -> bool:  # type: ignore[override]
        return self.combine == "share"

    def _build(self) -> list[Forecaster]:
        from .registry import make_forecaster

        built = []
        for spec in self.members:
            name, params = (spec, {}) if isinstance(spec, str) else spec
            f = make_forecaster(name, grid=self.grid, target=self.target, **params)
            if "horizon_days" in f.get_params() and "horizon_days" not in params:
                f.set_params(horizon_days=self.horizon_days)
            built.append(f)
        return built

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        if self.combine not in ("share", "rank"):
            raise ValueError("combine must be 'share' or 'rank'")
        if not hasattr(self, "members_"):
            self.members_ = self._build()  # kept across fits (ML members may reuse models)
        for f in self.members_:
            f.fit(past, until)

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        w = np.ones(len(self.members_)) if self.weights is None else np.asarray(self.weights, float)
        act = self.active_
        total = np.zeros(int(act.sum()))
        for wi, f in zip(w, self.members_, strict=True):  # a handful of members
            s = np.maximum(f.predict_grid(start, horizon_days)[act], 0.0)
            if self.combine == "rank":
                s = rankdata(s) / max(s.size, 1)
            else:
                s = s / s.sum() if s.sum() > 0 else np.full(s.size, 1.0 / max(s.size, 1))
            total += wi * s
        out = np.zeros(self.grid.n_cells)
        out[act] = total / w.sum()
        return self._as_expected_counts(out, horizon_days) if self.combine == "share" else out
