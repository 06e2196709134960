"""Ensemble of forecasters: weighted mean of normalised member scores."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.stats import rankdata

from .base import Forecaster, Method, make_forecaster
from .events import Events, as_time
from .explain import rounded
from .grid import Grid

MemberSpec = str | tuple[str, dict[str, Any]]


class EnsembleForecaster(Forecaster):
    """Combine member forecasters fitted on the same data.

    ``combine="share"``: each member's active-cell scores divided by their sum (a risk
    distribution), averaged with ``weights``, rescaled to the recent rate (expected counts).
    ``combine="rank"``: mean of average ranks scaled to (0, 1] (robust to scale, not a count).
    ``horizon_days`` is passed to members that take it (the ML forecasters).
    """

    methods: ClassVar[dict[str, Method]] = {"ensemble": Method(
        "Ensemble", "The Poisson regression's and the random forest's risk shares, averaged "
        "(by default; any methods can be members).")}

    def __init__(
        self,
        grid: Grid,
        target: Any = None,
        members: tuple[MemberSpec, ...] = ("poisson_glm", "random_forest"),
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

    def _weights(self) -> np.ndarray:
        return np.ones(len(self.members_)) if self.weights is None else np.asarray(
            self.weights, float)

    def _weighted_parts(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        """(n_members, n_active) weighted normalised member scores over the active cells."""
        act = self.active_
        parts = []
        for wi, f in zip(self._weights(), self.members_, strict=True):  # a handful
            s = np.maximum(f.predict_grid(start, horizon_days)[act], 0.0)
            if self.combine == "rank":
                s = rankdata(s) / max(s.size, 1)
            else:
                s = s / s.sum() if s.sum() > 0 else np.full(s.size, 1.0 / max(s.size, 1))
            parts.append(wi * s)
        return np.array(parts)

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        out = np.zeros(self.grid.n_cells)
        out[self.active_] = self._weighted_parts(start, horizon_days).sum(axis=0) / (
            self._weights().sum())
        return self._as_expected_counts(out, horizon_days) if self.combine == "share" else out

    def note(self, target: str = "target") -> str:
        names = ", ".join(s if isinstance(s, str) else s[0] for s in self.members)
        return ("Ensemble: a weighted mean of its members' normalised scores "
                f"({names}); the popup shows each member's share of the cell's score.")

    def explain_cells(self, start: Any, horizon_days: int, cells: np.ndarray,
                      top_k: int = 5) -> list[dict[str, Any]]:
        """Each member's share of the cell's combined score."""
        pos = np.searchsorted(np.flatnonzero(self.active_), cells)
        shares = self._weighted_parts(as_time(start), horizon_days)[:, pos]
        totals = shares.sum(axis=0)
        names = [spec if isinstance(spec, str) else spec[0] for spec in self.members]
        return [{"kind": "members", "combine": self.combine,
                 "members": [{"method": n, "share": rounded(shares[k, i] / totals[i], 3)
                              if totals[i] > 0 else None} for k, n in enumerate(names)]}
                for i in range(cells.size)]

    @classmethod
    def cell_words(cls, explanation: dict[str, Any], target: str = "target",
                   cell_size_m: float = 0.0) -> dict[str, list]:
        lines = []
        for member in explanation["members"]:
            part = "–" if member["share"] is None else f"{100 * member['share']:.0f} %"
            lines.append(f"{member['method']}: {part} of this cell's score.")
        return {"lines": lines, "features": []}
