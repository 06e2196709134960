"""Event counts on the grid: per-cell totals, weighted grids and cell x day cubes."""

from __future__ import annotations

import numpy as np

from .events import DAY, Events
from .grid import Grid


def day_numbers(events: Events, day0: np.datetime64) -> np.ndarray:
    """Whole days since midnight ``day0`` (int64, may be negative)."""
    return (events.times.astype("datetime64[D]") - day0) // DAY


def cell_counts(grid: Grid, events: Events, weights: np.ndarray | None = None) -> np.ndarray:
    """Flat per-cell (weighted) counts; events outside the grid are dropped."""
    idx = grid.cell_index(events.x, events.y)
    keep = idx >= 0
    w = None if weights is None else np.asarray(weights, float)[keep]
    return np.bincount(idx[keep], weights=w, minlength=grid.n_cells).astype(float)


def count_cube(
    grid: Grid,
    events: Events,
    day0: np.datetime64,
    n_days: int,
    dtype: type = np.float32,
    columns: np.ndarray | None = None,
) -> np.ndarray:
    """Daily counts, shape ``(n_days, n_columns)``, for days ``day0 .. day0 + n_days - 1``.

    ``columns`` (sorted flat cell indices) restricts the cube to those cells; default all cells.
    """
    idx = grid.cell_index(events.x, events.y)
    if columns is not None:
        lookup = np.full(grid.n_cells + 1, -1, np.int64)
        lookup[columns] = np.arange(columns.size)
        idx = lookup[idx]  # -1 (outside) maps to the last slot, also -1
    n_cols = grid.n_cells if columns is None else columns.size
    day = day_numbers(events, day0)
    keep = (idx >= 0) & (day >= 0) & (day < n_days)
    flat = day[keep] * n_cols + idx[keep]
    cube: np.ndarray = np.bincount(flat, minlength=n_days * n_cols).astype(dtype)
    return cube.reshape(n_days, n_cols)

