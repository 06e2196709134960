"""Forecast output for storage/display: per-cell table and GeoJSON in lon/lat."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Forecaster
from .evaluation import rank_cells
from .grid import Grid


def forecast_table(forecaster: Forecaster, start: Any, horizon_days: int) -> dict[str, np.ndarray]:
    """Columns ``cell, col, row, score, rank`` for the fitted forecaster's active cells.

    ``rank`` is 1 for the highest score (ties by cell index, as in the evaluation).
    """
    cells = np.flatnonzero(forecaster.active_)
    scores = forecaster.predict(start, horizon_days)
    rank = np.empty(cells.size, np.int64)
    rank[rank_cells(scores)] = np.arange(1, cells.size + 1)
    col, row = forecaster.grid.index_to_col_row(cells)
    return {"cell": cells, "col": col, "row": row, "score": scores, "rank": rank}


def cells_geojson(
    grid: Grid, cells: np.ndarray, properties: dict[str, np.ndarray] | None = None
) -> dict[str, Any]:
    """A FeatureCollection of cell squares (lon/lat) with per-cell ``properties`` columns."""
    cells = np.asarray(cells, np.int64)
    props = properties or {}
    polys = grid.cell_polygons_lonlat(cells)
    features = []
    for i, poly in enumerate(polys):  # building JSON objects, not a numeric hot path
        p = {"cell": int(cells[i])}
        p.update({k: np.asarray(v)[i].item() for k, v in props.items()})
        features.append({"type": "Feature", "geometry": poly, "properties": p})
    return {"type": "FeatureCollection", "features": features}
