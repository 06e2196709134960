"""The governance pack of a model: what it is, what it was trained on, how good and how fair.

Oversight boards read it for the agencies they are granted; it never holds a forecast's cells,
only aggregates (exposure of groups of residents, accuracy by group, the trade-off curve).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from predictions.forecasts.exposure import forecast_exposure
from predictions.governance.charts import tradeoff_chart
from predictions.models import ForecastModel

INTENDED_USE = (
    "Deciding where patrols and prevention spend their time, together with local knowledge. "
    "Forecasts are not grounds for a stop or a search of any person."
)


def retention() -> dict[str, str]:
    days = settings.FORECAST_RETENTION_DAYS
    return {
        "forecasts": f"Forecasts (cells and scores) are deleted {days} days after their window "
                     "starts; the audit trail keeps the record of every access to them.",
        "incidents": "Incidents are kept until the agency deletes the dataset they came in; "
                     "the public map only ever holds noisy monthly aggregates.",
        "models": "Trained model files and model cards are kept with their training run.",
        "audit": "The access audit trail is append-only and hash-chained; it is never "
                 "edited or deleted by the portal.",
    }


def governance_pack(model: ForecastModel) -> dict[str, Any]:
    """Everything the pack shows, JSON-ready."""
    run = model.latest_run()
    card = run.model_card if run else {}
    forecast = model.forecasts.order_by("-window_start").first()
    return {
        "agency": model.agency.name,
        "model": {"id": model.pk, "name": model.name, "method": model.method,
                  "target": model.target_label, "horizon_days": model.horizon_days,
                  "cell_size_m": model.cell_size_m, "uses_covariates": model.use_covariates},
        "training_run": {"id": run.pk, "finished_at": run.finished_at.isoformat(),
                         "incidents": run.n_events, "artifact_sha256": run.artifact_sha256}
        if run else None,
        "intended_use": INTENDED_USE,
        "limitations": card.get("limitations", []),
        "data_manifest": card.get("data"),
        "covariates": card.get("covariates", []),
        "backtest": card.get("backtest"),
        "fairness": card.get("fairness"),
        "latest_forecast_exposure": forecast_exposure(forecast),
        "retention": retention(),
    }


# view models for templates (Django templates cannot index "1%" keys) --------------------------
def fairness_tables(fairness: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One entry per grouping with rows ready for the tables and the trade-off chart."""
    if not fairness:
        return []
    out = []
    for rep in fairness.get("reports", []):
        groups = rep["groups"]
        exposure_rows = []
        for g in groups:
            pop = rep["population"][g]
            row = {"group": g, "population_share": pop["population_share"],
                   "crime_share": pop.get("crime_share"), "area_share": pop["area_share"],
                   "coverages": []}
            for cov, by_group in rep["exposure"].items():
                e = by_group[g]
                row["coverages"].append({"coverage": cov, "ratio": e["exposure_ratio"],
                                         "to_crime": e.get("exposure_to_crime_ratio"),
                                         "resident_share": e["flagged_resident_share"]})
            acc = (rep["accuracy"].get("5%") or {}).get(g, {})
            row["accuracy"] = acc
            exposure_rows.append(row)
        fair = rep["fair_option"]
        out.append({
            "grouping": rep["grouping"], "method": rep["method"], "windows": rep["windows"],
            "coverages": list(rep["exposure"]), "rows": exposure_rows,
            "fair": {"band": fair["band"],
                     "rows": [{"coverage": c, **fair[c],
                               "of": rep.get("tradeoff_windows", rep["windows"])}
                              for c in ("1%", "5%") if c in fair]},
            "tradeoff_rows": [
                {"band": p["band"], "pai_1": p.get("pai_1%"), "pai_5": p.get("pai_5%"),
                 "disparity_1": p.get("disparity_1%"), "disparity_5": p.get("disparity_5%")}
                for p in rep["tradeoff"]],
            "chart": tradeoff_chart(rep["tradeoff"]),
        })
    return out
