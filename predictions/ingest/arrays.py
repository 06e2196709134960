"""Incident files as the engine's arrays, under the import's own rules (no Django here).

Used by the database-free backtest command and by ``bench/forecast_bench.py``, so that a
backtest on files sees exactly the incidents an import of those files would store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictions.taxonomy import CATEGORY_CODES, ENFORCEMENT_DRIVEN

from .reader import read_incidents
from .records import concat_batches

ALL = "all"


@dataclass
class IncidentArrays:
    times: np.ndarray  # datetime64[s], local wall-clock time of the agency
    lon: np.ndarray
    lat: np.ndarray
    category: np.ndarray  # taxonomy codes ("" when unmapped)


def file_arrays(paths: list, fmt: str | None = None, mapping: dict | None = None) -> IncidentArrays:
    """Incidents of files under the import's own rules: one incident per source id (the
    first row), none whose id a cancelling record names, only located ones."""
    whole = concat_batches(list(read_incidents(paths, fmt, mapping)))
    cancelled = set(whole.source_id[whole.cancels].tolist())
    _, first = np.unique(whole.source_id, return_index=True)
    keep = np.zeros(whole.source_id.size, bool)
    keep[first] = True
    keep &= ~whole.cancels & ~whole.location_withheld & np.isfinite(whole.lon)
    keep &= ~np.isin(whole.source_id, list(cancelled))
    return IncidentArrays(whole.occurred_at[keep], whole.lon[keep], whole.lat[keep],
                          np.array([c or "" for c in whole.category[keep]], dtype=object))


def target_categories(category: str) -> list[str] | str:
    """The engine's target for a normalized category name; ``all`` is every category except
    the enforcement-driven ones (the portal's default data screen)."""
    if category == ALL:
        return sorted(set(CATEGORY_CODES) - ENFORCEMENT_DRIVEN)
    return category
