"""The methods on offer, in the order pages list them.

Each forecaster class declares its own names, labels, descriptions and baselines
(``Forecaster.methods``); this module only imports them all and reads those declarations.
"""

from __future__ import annotations

from typing import Any

from .base import METHODS, Forecaster, Method, make_forecaster
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

CLASSES: tuple[type[Forecaster], ...] = (
    UniformForecaster, RecentCountsForecaster, KDEForecaster, RetrospectiveHotspotForecaster,
    ProspectiveHotspotForecaster, SEPPForecaster, MLForecaster, EnsembleForecaster,
)
# the one table make_forecaster reads, in the order of CLASSES
_ordered = [(name, METHODS[name]) for cls in CLASSES for name in cls.methods]
METHODS.clear()
METHODS.update(_ordered)
INFO: dict[str, Method] = {name: cls.methods[name] for cls in CLASSES for name in cls.methods}
ML_METHODS = tuple(MLForecaster.methods)
CLASSICAL_METHODS = tuple(
    name for cls in CLASSES if cls not in (UniformForecaster, MLForecaster, EnsembleForecaster)
    for name in cls.methods)


def baselines() -> dict[str, dict[str, Any]]:
    """Label -> parameters of every baseline a model is compared with, variants included."""
    out: dict[str, dict[str, Any]] = {}
    for name, info in INFO.items():
        if info.baseline:
            out[name] = {}
            for variant, params in info.baseline_variants.items():
                out[variant] = {"method": name, **params}
    return out


__all__ = ["CLASSICAL_METHODS", "INFO", "METHODS", "ML_METHODS", "baselines", "make_forecaster"]
