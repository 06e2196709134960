"""Why a forecast cell scores high: computed by the engine (predictions.forecasting.explain)
when the forecast is written, stored on the top cells, and put in plain words when a cell's
popup is read (an audited read: predictions.forecasts.views.forecast_cell)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from predictions.bridge import json_safe
from predictions.forecasting import METHODS, ML_METHODS, Forecaster
from predictions.forecasting.explain import explain_cells, method_note
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
    if explanation["kind"] == "unavailable":  # the portal's own marker (store_explanations)
        out["lines"].append("The explanation could not be computed for this forecast.")
        return out
    forecaster = METHODS[model.method][0] if model.method in METHODS else Forecaster
    words = forecaster.cell_words(explanation, noun, float(forecast.grid.get("cell_size", 0)))
    out["lines"] += words["lines"]
    out["features"] += words["features"]
    return out

def how(forecast: Forecast) -> str:
    """The method of the forecast's model in plain words (for the model card)."""
    return method_note(forecast.model.method, forecast.model.parameters, _noun(forecast))
