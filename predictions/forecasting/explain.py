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

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Forecaster, make_forecaster
from .events import as_time

if TYPE_CHECKING:
    from .ml import MLForecaster

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
        assert pred is not None  # the model predicted `x` above
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
    forecaster whose forecast for ``[start, start + horizon_days)`` is being explained: each
    forecaster explains itself (``Forecaster.explain_cells``)."""
    return forecaster.explain_cells(start, horizon_days, np.asarray(cells, np.int64), top_k)


def say(value: float | None) -> str:
    """A number in a sentence: a count as a count, anything else with up to two decimals
    ("under 0.01" when small)."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return str(int(value))
    if abs(value) < 0.01:
        return "under 0.01" if value > 0 else "above -0.01"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def rounded(value: Any, digits: int = 4) -> float:
    return round(float(value), digits)


def significant(value: Any, digits: int = 4) -> float:
    """``value`` to ``digits`` significant digits (small values keep their size)."""
    return float(f"{float(value):.{digits}g}")


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
    if m := re.fullmatch(r"lead_(\w+?)_cell_(\d+)d", name):
        return f"{m[1].replace('_', ' ')} incidents in this cell, {_period(int(m[2]))}"
    if m := re.fullmatch(r"lead_(\w+?)_n(\d+)_(\d+)d", name):
        return f"{m[1].replace('_', ' ')} incidents {near(m[2])}, {_period(int(m[3]))}"
    if m := re.fullmatch(r"tgt_kde([\d.]+)c_decay([\d.]+)d", name):
        return (f"density of {target} incidents around this cell (kernel of"
                f" ~{float(m[1]) * cell_size_m:g} m), fading over ~{m[2]} days")
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


def method_note(
    method: str, parameters: dict[str, Any] | None = None, target: str = "target"
) -> str:
    """How ``method`` (with ``parameters`` over its defaults) scores a cell, in plain words,
    and what its per-cell explanation shows (``Forecaster.note``)."""
    try:
        forecaster = make_forecaster(method, grid=None, **(parameters or {}))
    except (ValueError, TypeError):
        return "Unknown method: no explanation."
    return forecaster.note(target)
