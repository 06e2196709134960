"""A forecast's exposure of groups of residents, without any cell (boards never see cells)."""

from __future__ import annotations

from typing import Any

from predictions.models import Forecast


def forecast_exposure(forecast: Forecast | None) -> dict[str, Any] | None:
    """The latest forecast's group exposure, without any cell (a board never sees cells)."""
    if forecast is None or not forecast.fairness:
        return None
    out = {"window_start": forecast.window_start.isoformat(),
           "horizon_days": forecast.horizon_days, "layer": forecast.fairness.get("layer"),
           "band": forecast.fairness.get("band"), "groupings": []}
    for g in forecast.fairness.get("groupings", []):
        coverages = {}
        for cov, entry in g["coverages"].items():
            coverages[cov] = {k: v for k, v in entry.items() if k != "fair_cells"}
        out["groupings"].append({"name": g["name"], "groups": g["groups"],
                                 "coverages": coverages})
    return out


def exposure_tables(latest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The latest forecast's exposure ratios (plain and fairness-aware) per grouping."""
    if not latest:
        return []
    out = []
    for g in latest["groupings"]:
        covs = list(g["coverages"])
        rows = [{"group": name, "values": [
            {"plain": g["coverages"][c]["exposure"][name]["exposure_ratio"],
             "fair": g["coverages"][c]["fair_ratios"].get(name)} for c in covs]}
            for name in g["groups"]]
        out.append({"name": g["name"], "coverages": covs, "rows": rows})
    return out
