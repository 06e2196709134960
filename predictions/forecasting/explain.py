"""Why a cell scores high: cheap, honest per-cell explanations of a fitted forecaster.

Machine-learning forecasters (:class:`~.ml.MLForecaster`): one-at-a-time substitution. For
each feature, the model predicts the cell again with that one feature replaced by its typical
value (the median over the active cells at the forecast origin); the feature's *effect* is the
prediction minus that substituted prediction. Positive: the cell's own value of the feature
raises its forecast. Effects are local (this cell, this model, this window), one feature at a
time: they do not add up to the prediction, and features that move together (the 28- and
91-day counts, say) share the credit. All substituted rows go through the model in one call.

The other methods are explained by their own structure where it splits a cell's score
(SEPP: background rate and near-repeat trigger; ensemble: the members' shares; recent counts:
the count itself) and otherwise only by the method's description: nothing is invented.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np

from .base import Forecaster
from .baselines import RecentCountsForecaster, UniformForecaster
from .ensemble import EnsembleForecaster
from .events import as_time
from .ml import MLForecaster
from .sepp import SEPPForecaster

TOP_FEATURES = 5


def feature_effects(
    forecaster: MLForecaster, start: Any, horizon_days: int, cells: np.ndarray
) -> dict[str, Any] | None:
    """Effects of every feature on the prediction of each of ``cells`` (flat grid indices,
    active cells of the fitted forecaster). ``None`` when no model could be trained.

    Returns ``names``, ``values`` (n_cells x n_features), ``typical`` (n_features),
    ``prediction`` (n_cells) and ``effect`` (n_cells x n_features): the prediction minus the
    prediction with that feature set to its typical value.
    """
    cells = np.asarray(cells, np.int64)
    if forecaster.cells_.size == 0:
        return None
    pos = np.searchsorted(forecaster.cells_, cells)
    if np.any(pos >= forecaster.cells_.size) or np.any(forecaster.cells_[pos] != cells):
        raise ValueError("cells must be active cells of the fitted forecaster")
    rows = forecaster.feature_rows(as_time(start), horizon_days)
    names = list(forecaster.feature_names_)
    typical = np.median(rows, axis=0).astype(rows.dtype)
    x = rows[pos]
    prediction = forecaster.predict_rows(x, horizon_days)
    if prediction is None:
        return None
    effect = np.zeros(x.shape, float)
    varying = np.flatnonzero(np.any(x != typical, axis=0))  # others: effect exactly 0
    if varying.size and cells.size:
        swapped = np.repeat(x[None], varying.size, axis=0)  # (n_varying, n_cells, n_features)
        swapped[np.arange(varying.size), :, varying] = typical[varying][:, None]
        pred = forecaster.predict_rows(swapped.reshape(-1, x.shape[1]), horizon_days)
        effect[:, varying] = prediction[:, None] - pred.reshape(varying.size, cells.size).T
    return {
        "names": names,
        "values": x,
        "typical": typical,
        "prediction": prediction,
        "effect": effect,
    }


def explain_cells(
    forecaster: Forecaster,
    start: Any,
    horizon_days: int,
    cells: np.ndarray,
    top_k: int = TOP_FEATURES,
) -> list[dict[str, Any]]:
    """One JSON-ready explanation per cell of ``cells`` (flat grid indices) of a fitted
    forecaster whose forecast for ``[start, start + horizon_days)`` is being explained."""
    cells = np.asarray(cells, np.int64)
    if isinstance(forecaster, MLForecaster):
        return _ml(forecaster, start, horizon_days, cells, top_k)
    if isinstance(forecaster, SEPPForecaster):
        return _sepp(forecaster, start, horizon_days, cells)
    if isinstance(forecaster, EnsembleForecaster):
        return _ensemble(forecaster, start, horizon_days, cells)
    if isinstance(forecaster, RecentCountsForecaster):
        return [
            {"kind": "counts", "count": _num(forecaster.field_[c]), "days": int(forecaster.days)}
            for c in cells
        ]
    if isinstance(forecaster, UniformForecaster):
        return [{"kind": "uniform"} for _ in cells]
    return [{"kind": "method"} for _ in cells]  # described by the method alone


def _num(value: Any, digits: int = 4) -> float:
    return round(float(value), digits)


def _sig(value: Any, digits: int = 4) -> float:
    """``value`` to ``digits`` significant digits (small values keep their size)."""
    return float(f"{float(value):.{digits}g}")


def _ml(forecaster, start, horizon_days, cells, top_k) -> list[dict[str, Any]]:
    found = feature_effects(forecaster, start, horizon_days, cells)
    if found is None:
        return [{"kind": "untrained"} for _ in cells]
    unit = "count" if forecaster.gives_counts else "probability"
    out = []
    for i in range(cells.size):
        effect = found["effect"][i]
        order = [j for j in np.argsort(-np.abs(effect), kind="stable")[:top_k] if effect[j] != 0]
        out.append(
            {
                "kind": "features",
                "unit": unit,
                "prediction": _sig(found["prediction"][i]),
                "features": [
                    {
                        "name": found["names"][j],
                        "value": _sig(found["values"][i, j]),
                        "typical": _sig(found["typical"][j]),
                        "effect": _sig(effect[j]),
                    }
                    for j in order
                ],
            }
        )
    return out


def _sepp(forecaster: SEPPForecaster, start, horizon_days, cells) -> list[dict[str, Any]]:
    total = forecaster.predict_grid(start, horizon_days)[cells]
    # the window's expectation sums background + trigger over its days: the background part
    # is exactly horizon_days x the cell's background rate
    background = forecaster.background_[cells] * horizon_days
    triggered = np.maximum(total - background, 0.0)
    decay = 1.0 / forecaster.omega_ if forecaster.omega_ > 0 else None
    return [
        {
            "kind": "sepp",
            "expected": _sig(t),
            "background": _sig(b),
            "triggered": _sig(g),
            "branching": _num(forecaster.theta_, 3),
            "decay_days": None if decay is None else _num(decay, 1),
        }
        for t, b, g in zip(total, background, triggered, strict=True)
    ]


def _ensemble(forecaster: EnsembleForecaster, start, horizon_days, cells) -> list[dict[str, Any]]:
    from scipy.stats import rankdata

    members = forecaster.members_
    w = (
        np.ones(len(members))
        if forecaster.weights is None
        else np.asarray(forecaster.weights, float)
    )
    act = np.flatnonzero(forecaster.active_)
    pos = np.searchsorted(act, cells)
    parts = []
    for wi, f in zip(w, members, strict=True):  # a handful of members, as in the ensemble
        s = np.maximum(f.predict_grid(start, horizon_days)[act], 0.0)
        if forecaster.combine == "rank":
            s = rankdata(s) / max(s.size, 1)
        else:
            s = s / s.sum() if s.sum() > 0 else np.full(s.size, 1.0 / max(s.size, 1))
        parts.append(wi * s[pos])
    parts = np.array(parts)  # (n_members, n_cells)
    totals = parts.sum(axis=0)
    names = [spec if isinstance(spec, str) else spec[0] for spec in forecaster.members]
    return [
        {
            "kind": "members",
            "combine": forecaster.combine,
            "members": [
                {"method": n, "share": _num(parts[k, i] / totals[i], 3) if totals[i] > 0 else None}
                for k, n in enumerate(names)
            ],
        }
        for i in range(cells.size)
    ]


# --- words ---------------------------------------------------------------------------------
def _period(lag: int) -> str:
    return "last day" if lag == 1 else f"last {lag} days"


def feature_label(name: str, cell_size_m: float, target: str = "target") -> str:
    """Plain words for a feature name of :func:`.features.build_features`.

    ``target`` names the forecast category ("burglary"); ``n3``/``n7`` are the 3 x 3 and
    7 x 7 cell neighbourhoods, said as the distance they reach from the cell.
    """

    def near(width: str) -> str:
        return f"within ~{int(width) // 2 * cell_size_m:g} m"

    def who(kind: str) -> str:
        return f"{target} incidents" if kind == "tgt" else "all recorded incidents"

    if m := re.fullmatch(r"(tgt|all)_cell_(\d+)d", name):
        return f"{who(m[1])} in this cell, {_period(int(m[2]))}"
    if m := re.fullmatch(r"(tgt|all)_n(\d+)_(\d+)d", name):
        return f"{who(m[1])} {near(m[2])}, {_period(int(m[3]))}"
    if m := re.fullmatch(r"tgt_cell_decay([\d.]+)d", name):
        return f"recent {target} incidents in this cell, fading over ~{m[1]} days"
    if m := re.fullmatch(r"tgt_n(\d+)_decay([\d.]+)d", name):
        return f"recent {target} incidents {near(m[1])}, fading over ~{m[2]} days"
    if name == "tgt_cell_days_since":
        return f"days since the last {target} incident in this cell"
    if m := re.fullmatch(r"tgt_n(\d+)_days_since", name):
        return f"days since the last {target} incident {near(m[1])}"
    if name == "tgt_cell_lastyear":
        return f"{target} incidents in this cell in the same weeks last year"
    if m := re.fullmatch(r"tgt_n(\d+)_lastyear", name):
        return f"{target} incidents {near(m[1])} in the same weeks last year"
    if name == "dow":
        return "day of the week the window starts"
    if name in ("season_sin", "season_cos"):
        return "time of year"
    if name.startswith("cov_"):
        return f"{name[4:].replace('_', ' ')} (context layer)"
    return name


def _params(method: str, parameters: dict[str, Any]) -> dict[str, Any]:
    from .registry import METHODS

    cls, defaults = METHODS[method]
    found = {
        k: p.default
        for k, p in inspect.signature(cls).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return {**found, **defaults, **(parameters or {})}


ML_NAMES = {
    "hgb_poisson": "gradient-boosting (Poisson)",
    "random_forest": "random-forest",
    "poisson_glm": "Poisson regression",
    "logistic": "logistic regression",
    "mlp": "neural-network (MLP)",
}
ML_HOW = (
    "For each feature, the model predicts this cell again with only that feature replaced by "
    "its typical value (the median over all active cells); the difference is the feature's "
    "effect. Effects are one at a time: they do not add up to the forecast, features that "
    "move together (such as the 7- and 28-day counts) share the credit, and replacing one "
    "of them alone can give a combination the model never saw, so related features may "
    "show effects of opposite signs."
)


def method_note(
    method: str, parameters: dict[str, Any] | None = None, target: str = "target"
) -> str:
    """How ``method`` (with ``parameters`` over its defaults) scores a cell, in plain words,
    and what its per-cell explanation shows."""
    from .registry import METHODS, ML_METHODS

    if method not in METHODS:
        return "Unknown method: no explanation."
    p = _params(method, parameters or {})
    if method in ML_METHODS:
        what = (
            "the chance of at least one incident"
            if p.get("estimator") == "logistic"
            else "the expected count"
        )
        return (
            f"The {ML_NAMES.get(method, method)} model predicts {what} in each cell from its "
            f"recent history and that of the cells around it. {ML_HOW}"
        )
    if method == "sepp":
        return (
            "Self-exciting point process: a cell's expected count is its long-run "
            f"background rate of {target} incidents plus incidents triggered by recent "
            "ones in the same cell (near repeats, fading over days). The popup splits the "
            "forecast into these two parts."
        )
    if method == "kde":
        return (
            f"Kernel density: past {target} incidents weighted by distance (Gaussian, "
            f"{p['bandwidth']:g} m) and age (fading over {p['decay_days']:g} days, last "
            f"{p['window_days']} days). No per-feature explanation: the recent incidents "
            "near the cell are what it weighs."
        )
    if method == "retrospective_hotspot":
        return (
            f"Retrospective hotspot: density of all {target} incidents of the last "
            f"{p['window_days']} days (Gaussian, {p['bandwidth']:g} m), without time "
            "decay. No per-feature explanation."
        )
    if method == "prospective_hotspot":
        return (
            f"Prospective hotspot: {target} incidents of the last {p['weeks']} weeks "
            f"within {p['bandwidth']:g} m, weighted by 1/(1 + distance in cells) x "
            "1/(1 + age in weeks). No per-feature explanation: the recent incidents near "
            "the cell are what it weighs."
        )
    if method == "recent_counts":
        return (
            f"Recent counts: the number of {target} incidents in the cell over the last "
            f"{p['days']} days, scaled to the window."
        )
    if method == "uniform":
        return "Uniform: every cell gets the same score, so there is nothing to explain."
    if method == "ensemble":
        return (
            "Ensemble: a weighted mean of its members' normalised scores "
            f"({', '.join(s if isinstance(s, str) else s[0] for s in p['members'])}); "
            "the popup shows each member's share of the cell's score."
        )
    return "This method has no per-cell explanation."
