"""The methods on offer, in the order pages list them.

Each forecaster class declares its own names, labels, descriptions and baselines
(``Forecaster.methods``); this module only imports them all and reads those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Offer:
    """A choice on the models page: a method or a baseline's variant, in one line."""

    code: str
    label: str
    description: str
    baseline: bool
    method: str  # the registry name it stands for
    params: Mapping[str, Any]


def offers() -> dict[str, Offer]:
    """Code -> every method and every baseline variant a model can use, in page order."""
    out: dict[str, Offer] = {}
    for name, info in INFO.items():
        out[name] = Offer(name, info.label, info.description, info.baseline, name, {})
        for variant, params in info.baseline_variants.items():
            out[variant] = Offer(variant, f"{info.label} (long memory)"
                                 if variant.endswith(("_long", "_365")) else info.label,
                                 info.variant_notes.get(variant, info.description),
                                 info.baseline, name, dict(params))
    return out


def offer_for(label: str) -> str | None:
    """The models page's code for a backtest label (``"x without covariates"`` is x)."""
    code = label.removesuffix(" without covariates")
    return code if code in offers() else None


def baselines() -> dict[str, dict[str, Any]]:
    """Label -> parameters of every baseline a model is compared with, variants included."""
    out: dict[str, dict[str, Any]] = {}
    for name, info in INFO.items():
        if info.baseline:
            out[name] = dict(info.baseline_params)
            for variant, params in info.baseline_variants.items():
                out[variant] = {"method": name, **params}
    return out


__all__ = ["CLASSICAL_METHODS", "INFO", "METHODS", "ML_METHODS", "Offer", "baselines",
           "make_forecaster", "offer_for", "offers"]
