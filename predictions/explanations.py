"""Why a forecast cell scores high: computed by the engine (predictions.forecasting.explain)
when the forecast is written, stored on the top cells, and put in plain words when a cell's
popup is read (an audited read: predictions.views_forecast.forecast_cell)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from predictions.engine_data import json_safe
from predictions.forecasting import ML_METHODS
from predictions.forecasting.explain import explain_cells, feature_label, method_note
from predictions.models import Forecast, ForecastCell

log = logging.getLogger(__name__)

# Explanations are kept for the highest-ranked cells only: they are the ones patrols see,
# and the whole-map layer stays as small as it was (popups fetch them one cell at a time).
TOP_EXPLAINED = 200
ML_HOW_SHORT = (
    "Each line: how this cell's prediction changes if only that feature took its typical "
    "value (the median over the active cells). One feature at a time: related features share "
    "the credit. The model card says more."
)


def store_explanations(
    forecast: Forecast, forecaster, start: np.datetime64, ranked: np.ndarray
) -> None:
    """Compute and store the explanations of the forecast's top cells (`ranked`: flat cell
    indices in rank order). A failure is logged and stored as such: the forecast stands."""
    top = np.asarray(ranked[:TOP_EXPLAINED], np.int64)
    try:
        found = explain_cells(forecaster, start, forecast.horizon_days, top)
    except Exception:
        log.exception("explanations of forecast %s could not be computed", forecast.pk)
        found = [{"kind": "unavailable"}] * top.size
    cells = list(forecast.cells.filter(rank__lte=top.size).only("pk", "rank"))
    for cell in cells:
        cell.explanation = json_safe(found[cell.rank - 1])
    ForecastCell.objects.bulk_update(cells, ["explanation"], batch_size=500)


def _noun(forecast: Forecast) -> str:
    return forecast.model.target_label.lower()


def _n(value: float | None) -> str:
    """A count as a count, anything else with up to two decimals ("under 0.01" when small)."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return str(int(value))
    if abs(value) < 0.01:
        return "under 0.01" if value > 0 else "above -0.01"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _feature_text(item: dict[str, Any], label: str, unit: str) -> str:
    effect = item["effect"]
    if unit == "probability":
        size = f"{abs(effect) * 100:.1f} percentage points"
        what = "The predicted chance of at least one incident"
    else:
        size = _n(abs(effect))
        what = "The predicted count"
    way = "falls" if effect > 0 else "rises"
    return (
        f"{label}: {_n(item['value'])} (typical cell: {_n(item['typical'])}). "
        f"{what} {way} by {size} if this were typical."
    )


def describe(forecast: Forecast, rank: int, explanation: dict[str, Any] | None) -> dict:
    """The popup's explanation: the method in plain words (`how`, and `how_short` for the
    popup), one sentence per reason (`lines`) and, for the machine-learning models, the
    strongest features (`features`)."""
    model = forecast.model
    noun = _noun(forecast)
    note = method_note(model.method, model.parameters, noun)
    out: dict[str, Any] = {
        "how": note,
        "how_short": ML_HOW_SHORT if model.method in ML_METHODS else note,
        "kind": (explanation or {}).get("kind"),
        "lines": [],
        "features": [],
    }
    if explanation is None:
        out["lines"].append(
            "No explanation was stored with this forecast."
            if rank <= TOP_EXPLAINED
            else f"Explanations are kept for the {TOP_EXPLAINED} highest-ranked cells only."
        )
        return out
    kind = explanation["kind"]
    if kind == "features":
        cell_size = float(forecast.grid.get("cell_size", 0))
        for item in explanation["features"]:
            label = feature_label(item["name"], cell_size, noun)
            text = _feature_text(item, label, explanation["unit"])
            out["features"].append({**item, "label": label, "text": text})
            out["lines"].append(text)
    elif kind == "sepp":
        total = explanation["expected"] or 0.0
        share = (lambda v: f" ({100 * v / total:.0f} %)") if total > 0 else (lambda v: "")
        out["lines"] += [
            f"Background (this cell's long-run rate): {_n(explanation['background'])} "
            f"expected incidents{share(explanation['background'])}.",
            f"Near repeats (triggered by recent {noun} incidents in this cell): "
            f"{_n(explanation['triggered'])}{share(explanation['triggered'])}.",
            f"Each incident triggers on average {_n(explanation['branching'])} more, fading "
            f"over about {_n(explanation['decay_days'])} days (fitted on the whole area).",
        ]
    elif kind == "members":
        for member in explanation["members"]:
            part = "–" if member["share"] is None else f"{100 * member['share']:.0f} %"
            out["lines"].append(f"{member['method']}: {part} of this cell's score.")
    elif kind == "counts":
        out["lines"].append(
            f"{_n(explanation['count'])} {noun} incidents in this cell in the "
            f"last {explanation['days']} days."
        )
    elif kind == "untrained":
        out["lines"].append(
            "There was too little data to train the model: every cell has the same score."
        )
    elif kind == "unavailable":
        out["lines"].append("The explanation could not be computed for this forecast.")
    return out


def how(forecast: Forecast) -> str:
    """The method of the forecast's model in plain words (for the model card)."""
    return method_note(forecast.model.method, forecast.model.parameters, _noun(forecast))
