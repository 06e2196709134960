"""Which cells a forecast flags as patrol areas: the plain top cells, or the fairness-aware
selection (predictions.forecasting.fair_selection) that keeps every group of residents of
every grouping of the agency's fairness layer within its band, with the most forecast risk.

The choice is the `selection` parameter of the map, the ranked table, the exports and the
API ("plain" by default, or "fair"); each read records it in its audit row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.core.cache import cache

from predictions.bridge import fairness_layer, groupings_for
from predictions.forecasting import Grid
from predictions.forecasting.fair_selection import DEFAULT_BAND, exposure_ratios, select_cells
from predictions.models import Forecast

PLAIN, FAIR = "plain", "fair"
SELECTIONS = {PLAIN: "Highest risk (plain)", FAIR: "Fairness-aware"}
CACHE_SECONDS = 24 * 3600
TIME_LIMIT = 5.0  # seconds of branch and bound at most (the completion is usually enough)


class SelectionRefused(ValueError):
    """A selection that cannot be served (unknown, or fair without a fairness layer)."""


def parse_selection(text: str | None) -> str:
    """"plain" (also for a missing or empty value) or "fair"; SelectionRefused otherwise."""
    value = (text or PLAIN).strip()
    if value not in SELECTIONS:
        raise SelectionRefused("selection must be plain or fair")
    return value


@dataclass(frozen=True)
class Patrol:
    """The flagged cells of one read and what the choice achieved."""

    selection: str
    flagged: int
    ranks: tuple[int, ...]  # ranks of the flagged cells, ascending
    layer: str | None = None
    band: list[float] | None = None  # the band met (fair); None: not met, or plain
    requested_band: list[float] | None = None
    score_share: float = 1.0  # the flagged cells' summed score / the plain top cells'
    swapped: int = 0  # flagged cells outside the plain top cells
    ratios: dict[str, dict[str, float | None]] = field(default_factory=dict)
    plain_ratios: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @property
    def band_met(self) -> bool:
        return self.band is not None and self.band == self.requested_band

    def audit(self) -> dict[str, Any]:
        """What the read's audit row keeps of the choice."""
        out: dict[str, Any] = {"selection": self.selection}
        if self.selection == FAIR:
            out.update({"fairness_layer": self.layer, "band": self.requested_band,
                        "band_used": self.band, "band_met": self.band_met,
                        "swapped": self.swapped,
                        "score_share": round(self.score_share, 4)})
        return out


def patrol(forecast: Forecast, flagged: int, selection: str = PLAIN) -> Patrol:
    """The `flagged` patrol cells of `forecast` under `selection` (fair: cached per
    forecast, number of cells and fairness-layer settings; forecasts never change)."""
    if selection == PLAIN:
        return Patrol(PLAIN, flagged, tuple(range(1, flagged + 1)))
    layer = fairness_layer(forecast.agency, shapes=False)  # the shapes only on a cache miss
    if layer is None:
        raise SelectionRefused("the fair selection needs a fairness layer (the agency's area "
                               "layer of residents); this agency has none")
    band = [float(b) for b in (layer.fairness_band or DEFAULT_BAND)]
    settings = json.dumps([layer.pk, layer.sha256, layer.population_attribute,
                           layer.groupings, band], sort_keys=True, default=str)
    key = (f"patrol:{forecast.pk}:{int(flagged)}:"
           f"{hashlib.sha256(settings.encode()).hexdigest()[:16]}")
    found = cache.get(key)
    if found is None:
        found = asdict(fair_patrol(forecast, flagged, layer, band))
        cache.set(key, found, timeout=CACHE_SECONDS)
    return Patrol(**{**found, "ranks": tuple(found["ranks"])})


def fair_patrol(forecast: Forecast, flagged: int, layer, band: list[float]) -> Patrol:
    """Every grouping's groups within `band` at once: the groupings partition the same
    residents of each cell, so their columns side by side keep each grouping's ratios."""
    ranked = list(forecast.cells.order_by("rank").values_list("cell", "score"))
    cells = np.array([cell for cell, _ in ranked], np.int64)
    scores = np.array([score for _, score in ranked], float)
    groupings = groupings_for(layer, Grid.from_spec(forecast.grid))
    residents = np.hstack([g.residents[cells] for _, g in groupings])
    chosen = select_cells(scores, residents, flagged, tuple(band), time_limit=TIME_LIMIT)
    ranks = tuple(sorted(int(c) + 1 for c in chosen.chosen))
    ratios = {name: dict(zip(g.names, exposure_ratios(chosen.chosen, g.residents[cells]),
                             strict=True))
              for name, g in groupings}
    top = np.arange(flagged)
    plain = {name: dict(zip(g.names, exposure_ratios(top, g.residents[cells]), strict=True))
             for name, g in groupings}
    return Patrol(FAIR, flagged, ranks, layer=layer.name, plain_ratios=plain,
                  band=list(chosen.band) if chosen.band else None, requested_band=band,
                  score_share=float(chosen.score_share),
                  swapped=sum(r > flagged for r in ranks), ratios=ratios)
