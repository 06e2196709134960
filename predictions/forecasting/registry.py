"""Method registry: ``METHODS`` name -> (class, default parameters) and ``make_forecaster``."""

from __future__ import annotations

from typing import Any

from .base import Forecaster
from .baselines import (
    KDEForecaster,
    ProspectiveHotspotForecaster,
    RecentCountsForecaster,
    RetrospectiveHotspotForecaster,
    UniformForecaster,
)
from .ensemble import EnsembleForecaster
from .ml import MLForecaster
from .sepp import SEPPForecaster

METHODS: dict[str, tuple[type[Forecaster], dict[str, Any]]] = {
    "uniform": (UniformForecaster, {}),
    "recent_counts": (RecentCountsForecaster, {}),
    "kde": (KDEForecaster, {}),
    "retrospective_hotspot": (RetrospectiveHotspotForecaster, {}),
    "prospective_hotspot": (ProspectiveHotspotForecaster, {}),
    "sepp": (SEPPForecaster, {}),
    "hgb_poisson": (MLForecaster, {"estimator": "hgb_poisson"}),
    "random_forest": (MLForecaster, {"estimator": "random_forest"}),
    "poisson_glm": (MLForecaster, {"estimator": "poisson_glm"}),
    "logistic": (MLForecaster, {"estimator": "logistic"}),
    "mlp": (MLForecaster, {"estimator": "mlp"}),
    "ensemble": (EnsembleForecaster, {}),
}

CLASSICAL_METHODS = ("recent_counts", "kde", "retrospective_hotspot", "prospective_hotspot", "sepp")
ML_METHODS = ("hgb_poisson", "random_forest", "poisson_glm", "logistic", "mlp")


def make_forecaster(name: str, **params: Any) -> Forecaster:
    """Instantiate method ``name``; ``params`` (must include ``grid``) override defaults."""
    try:
        cls, defaults = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; one of {sorted(METHODS)}") from None
    if "grid" not in params:
        raise TypeError("make_forecaster needs grid=...")
    return cls(**{**defaults, **params})
