"""What a new polygon layer is set up with: its population attribute and groupings, guessed
from common census attribute names (the analyst changes them on the layer's page)."""

from __future__ import annotations

from typing import Any

RACE_COLUMNS = ("nh_white", "nh_black", "hispanic", "nh_asian")
POPULATION_NAMES = ("total_pop", "population", "pop", "pop_total", "residents")
QUANTILE_CANDIDATES = (("poverty_rate", "Poverty rate quintile"),
                       ("median_hh_income", "Median household income quintile"))


def suggested_settings(attributes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Population attribute and groupings guessed from common census attribute names."""
    names = set(attributes)
    population = next((n for n in POPULATION_NAMES if n in names), "")
    groupings: list[dict[str, Any]] = []
    race = [c for c in RACE_COLUMNS if c in names]
    if len(race) >= 2:
        groupings.append({"name": "Majority race/ethnicity of residents", "kind": "majority",
                          "columns": race})
    for attr, label in QUANTILE_CANDIDATES:
        if attr in names:
            groupings.append({"name": label, "kind": "quantile", "attribute": attr, "q": 5})
    return {"population_attribute": population, "groupings": groupings}
