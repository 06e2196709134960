"""Per-cell features for the machine-learning forecasters, from daily cell x day count cubes.

All window counts come from cumulative sums (``C[b] - C[a]``), neighbourhood sums from box
filters over the grid, near-repeat signals from IIR filters along the day axis. Origins are day
positions ``o`` in the cube: features use days ``< o`` only; labels count days ``[o, o + h)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter, uniform_filter
from scipy.signal import lfilter

from .counts import count_cube, cumulative_cube
from .events import DAY, Events
from .grid import Grid

DEFAULT_LAGS: tuple[int, ...] = (1, 7, 28, 91, 365)
NEIGHBOURHOODS: tuple[int, ...] = (3, 7)  # box widths in cells (3x3, 7x7)
DECAYS: tuple[float, ...] = (7.0, 28.0)  # near-repeat e-folding times, days
SINCE_CAP = 365.0


@dataclass
class CountHistory:
    """Daily count cubes of the target category and of all crime over ``[day0, day0 + n_days)``.

    Cubes hold only ``columns`` (sorted flat cell indices: the active cells plus every cell
    with a past event); neighbourhood sums scatter rows back onto the full grid.
    """

    grid: Grid
    day0: np.datetime64
    n_days: int
    columns: np.ndarray
    target_cum: np.ndarray  # (n_days + 1, n_columns) cumulative target counts
    all_cum: np.ndarray  # (n_days + 1, n_columns) cumulative all-crime counts
    decayed: dict[float, np.ndarray]  # tau -> (n_days + 1, n_columns), row o uses days < o
    last_day: np.ndarray  # (n_days + 1, n_columns) last target day < o (or -inf)

    @classmethod
    def build(
        cls,
        grid: Grid,
        target: Events,
        everything: Events,
        day0: np.datetime64,
        n_days: int,
        columns: np.ndarray,
    ) -> CountHistory:
        columns = np.asarray(columns, np.int64)
        tcube = count_cube(grid, target, day0, n_days, np.float64, columns)
        acube = count_cube(grid, everything, day0, n_days, np.float32, columns)
        decayed = {}
        padded = np.concatenate([np.zeros((1, columns.size)), tcube])  # float64: faster IIR
        for tau in DECAYS:  # a couple of time scales
            r = np.exp(-1.0 / tau)
            # padded row i is day i - 1, so y[o] = sum_{d < o} r**(o - 1 - d) n[d]
            decayed[tau] = lfilter([1.0], [1.0, -r], padded, axis=0).astype(np.float32)
        days = np.arange(-1, n_days, dtype=np.float32)[:, None]
        last = np.where(padded > 0, days, -np.inf).astype(np.float32)
        np.maximum.accumulate(last, axis=0, out=last)
        return cls(
            grid,
            day0,
            n_days,
            columns,
            cumulative_cube(tcube, np.float32),
            cumulative_cube(acube, np.float32),
            decayed,
            last,
        )

    def window(self, cum: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Counts over days ``[a, b)`` per origin row (clipped to the cube), float32."""
        a = np.clip(a, 0, self.n_days)
        b = np.clip(b, 0, self.n_days)
        return (cum[b] - cum[a]).astype(np.float32)

    def full(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Rows over ``columns`` scattered onto the full grid (``fill`` elsewhere)."""
        out = np.full((values.shape[0], self.grid.n_cells), fill, np.float32)
        out[:, self.columns] = values
        return out

    def positions(self, cells: np.ndarray) -> np.ndarray:
        """Column positions of flat cell indices (all must be columns)."""
        pos = np.searchsorted(self.columns, cells)
        if np.any(pos >= self.columns.size) or np.any(self.columns[pos] != cells):
            raise ValueError("cells outside the history columns")
        return pos


_HISTORY_CACHE: dict[bytes, CountHistory] = {}


def _digest(
    grid: Grid,
    target: Events,
    everything: Events,
    day0: np.datetime64,
    n_days: int,
    columns: np.ndarray,
) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((grid, str(day0), n_days, len(target), len(everything))).encode())
    h.update(np.ascontiguousarray(columns, np.int64).view(np.uint8))
    for ev in (target, everything):
        for arr in (ev.times, ev.x, ev.y):
            h.update(np.ascontiguousarray(arr).view(np.uint8))
    return h.digest()


def shared_history(
    grid: Grid,
    target: Events,
    everything: Events,
    day0: np.datetime64,
    n_days: int,
    columns: np.ndarray,
) -> CountHistory:
    """:meth:`CountHistory.build`, memoised for the latest inputs (keyed by a content hash).

    Several ML forecasters fitted on the same data then share one set of cubes (memory, time).
    """
    key = _digest(grid, target, everything, day0, n_days, columns)
    hist = _HISTORY_CACHE.get(key)
    if hist is None:
        _HISTORY_CACHE.clear()
        hist = CountHistory.build(grid, target, everything, day0, n_days, columns)
        _HISTORY_CACHE[key] = hist
    return hist


def _box(values: np.ndarray, grid: Grid, width: int) -> np.ndarray:
    """Sum over the ``width x width`` neighbourhood of each cell, per full-grid row."""
    v = values.reshape(-1, grid.ny, grid.nx).astype(np.float64)
    s = uniform_filter(v, size=(1, width, width), mode="constant") * (width * width)
    return np.maximum(s, 0.0).reshape(values.shape).astype(np.float32)


def build_features(
    hist: CountHistory,
    origins: np.ndarray,
    horizon_days: int,
    cells: np.ndarray,
    lags: tuple[int, ...] = DEFAULT_LAGS,
    covariates: np.ndarray | None = None,
    covariate_names: tuple[str, ...] | None = None,
    start_days: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix ``(len(origins) * len(cells), n_features)`` (origin-major) and names.

    ``cells`` are flat grid indices (a subset of ``hist.columns``); ``start_days`` (default
    ``origins``) gives the window start used for calendar features.
    """
    o = np.asarray(origins, np.int64)
    grid = hist.grid
    pos = hist.positions(cells)
    cols: list[np.ndarray] = []
    names: list[str] = []

    def add(name: str, values: np.ndarray, on_grid: bool = False) -> None:
        cols.append((values[:, cells] if on_grid else values[:, pos]).ravel())
        names.append(name)

    for label, cum in (("tgt", hist.target_cum), ("all", hist.all_cum)):
        for lag in lags:  # a handful of time scales
            cnt = hist.window(cum, o - lag, o)
            add(f"{label}_cell_{lag}d", cnt)
            full = hist.full(cnt)
            for width in NEIGHBOURHOODS:
                add(f"{label}_n{width}_{lag}d", _box(full, grid, width), on_grid=True)
    for tau, dec in hist.decayed.items():
        add(f"tgt_cell_decay{tau:g}d", dec[o])
        add(f"tgt_n3_decay{tau:g}d", _box(hist.full(dec[o]), grid, 3), on_grid=True)
    since = np.minimum(o[:, None] - 1 - hist.last_day[o], SINCE_CAP).astype(np.float32)
    add("tgt_cell_days_since", since)
    since_full = hist.full(since, SINCE_CAP).reshape(-1, grid.ny, grid.nx)
    near = minimum_filter(since_full, size=(1, 3, 3), mode="nearest")
    add("tgt_n3_days_since", near.reshape(o.size, grid.n_cells), on_grid=True)
    season = hist.window(hist.target_cum, o - 364 - 14, o - 364 + horizon_days + 14)
    add("tgt_cell_lastyear", season)
    add("tgt_n3_lastyear", _box(hist.full(season), grid, 3), on_grid=True)
    starts = o if start_days is None else np.asarray(start_days, np.int64)
    date = hist.day0 + starts * DAY
    dow = ((date - np.datetime64("1970-01-05")) // DAY % 7).astype(np.float32)  # Monday = 0
    doy = (date - date.astype("datetime64[Y]")) // DAY
    ang = 2.0 * np.pi * (doy + horizon_days / 2.0) / 365.25
    for name, val in (("dow", dow), ("season_sin", np.sin(ang)), ("season_cos", np.cos(ang))):
        cols.append(np.repeat(val.astype(np.float32), cells.size))
        names.append(name)
    if covariates is not None:
        cov = np.asarray(covariates, np.float32).reshape(grid.n_cells, -1)
        cov_names = covariate_names or tuple(f"cov{i}" for i in range(cov.shape[1]))
        if len(cov_names) != cov.shape[1]:
            raise ValueError("covariate_names does not match the covariate columns")
        for j, name in enumerate(cov_names):
            add(f"cov_{name}", np.broadcast_to(cov[:, j], (o.size, grid.n_cells)), on_grid=True)
    return np.column_stack(cols), names


def build_labels(
    hist: CountHistory, origins: np.ndarray, horizon_days: int, cells: np.ndarray
) -> np.ndarray:
    """Target counts in ``[o, o + h)`` for each origin and cell (origin-major)."""
    o = np.asarray(origins, np.int64)
    return hist.window(hist.target_cum, o, o + horizon_days)[:, hist.positions(cells)].ravel()
