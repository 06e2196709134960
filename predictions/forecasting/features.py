"""Per-cell features for the machine-learning forecasters, from per-cell event days.

Counts are only ever asked at a few days (the training origins and the forecast origin), so
the history keeps each event's day and column and answers at those days: window counts as
differences of counts-before-a-day, near-repeat signals as exponentially decayed sums, the
last event's day as a running maximum, all in O(events + asked days x cells), never a dense
cell x day cube. Neighbourhood sums are box filters over the grid. Origins are day positions
``o``: features use days ``< o`` only; labels count days ``[o, o + h)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, minimum_filter, uniform_filter

from .counts import day_numbers
from .events import DAY, Events
from .grid import Grid

DEFAULT_LAGS: tuple[int, ...] = (1, 7, 28, 91, 182, 365, 730, 1095)
NEIGHBOURHOODS: tuple[int, ...] = (3, 7)  # box widths in cells (3x3, 7x7)
DECAYS: tuple[float, ...] = (7.0, 28.0, 182.0, 365.0)  # e-folding times, days
SINCE_CAP = 365.0
KINDS = ("tgt", "all")  # the target category and all crime
LEAD_LAGS: tuple[int, ...] = (28, 365)  # leading-indicator windows (days), other categories
LEAD_PREFIX = "lead_"  # history kinds of other categories: ``lead_<category>``


@dataclass
class _DayColumns:
    """Events as (day, column position), sorted by day, restricted to the history."""

    day: np.ndarray  # int64, ascending, in [0, n_days)
    col: np.ndarray  # int64 column positions

    @classmethod
    def of(cls, grid: Grid, events: Events, day0: np.datetime64, n_days: int,
           columns: np.ndarray) -> _DayColumns:
        lookup = np.full(grid.n_cells + 1, -1, np.int64)
        lookup[columns] = np.arange(columns.size)
        col = lookup[grid.cell_index(events.x, events.y)]  # -1 (outside) maps to -1
        day = day_numbers(events, day0)
        keep = (col >= 0) & (day >= 0) & (day < n_days)
        order = np.argsort(day[keep], kind="stable")
        return cls(day[keep][order], col[keep][order])

    def binned(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted unique asked days ``q`` and each event's bin: the first ``q`` after it."""
        q = np.unique(days)
        return q, np.searchsorted(q, self.day, side="right")


@dataclass
class CountHistory:
    """Events of the target category, of all crime and of any ``others`` (leading-indicator
    categories, kinds ``lead_<name>``) over ``[day0, day0 + n_days)``.

    Only ``columns`` (sorted flat cell indices: the active cells plus every cell with a past
    event) are kept; :meth:`full` scatters rows back onto the full grid for neighbourhoods.
    Every query takes day positions (clipped to ``[0, n_days]``) and returns float32 rows
    ``(len(days), n_columns)``.
    """

    grid: Grid
    day0: np.datetime64
    n_days: int
    columns: np.ndarray
    events: dict[str, _DayColumns]
    decays: tuple[float, ...] = DECAYS

    @classmethod
    def build(
        cls,
        grid: Grid,
        target: Events,
        everything: Events,
        day0: np.datetime64,
        n_days: int,
        columns: np.ndarray,
        decays: tuple[float, ...] = DECAYS,
        others: dict[str, Events] | None = None,
    ) -> CountHistory:
        columns = np.asarray(columns, np.int64)
        found = {
            kind: _DayColumns.of(grid, ev, day0, n_days, columns)
            for kind, ev in zip(KINDS, (target, everything), strict=True)
        }
        for name, ev in (others or {}).items():
            found[LEAD_PREFIX + name] = _DayColumns.of(grid, ev, day0, n_days, columns)
        return cls(grid, day0, n_days, columns, found, tuple(decays))

    def _clip(self, days: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(days, np.int64), 0, self.n_days)

    def counts_before(self, kind: str, days: np.ndarray) -> np.ndarray:
        """Events of ``kind`` on days ``< d`` for each asked day ``d``."""
        days = self._clip(days)
        ev = self.events[kind]
        q, bins = ev.binned(days)
        n = self.columns.size
        per_bin = np.bincount(bins * n + ev.col, minlength=(q.size + 1) * n)
        cum = np.cumsum(per_bin.reshape(q.size + 1, n)[: q.size], axis=0, dtype=np.float32)
        return cum[np.searchsorted(q, days)]

    def window(self, kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Events of ``kind`` over days ``[a, b)`` per asked pair (clipped to the history)."""
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        both = self.counts_before(kind, np.concatenate([a, b]))
        return both[a.size :] - both[: a.size]

    def decayed(self, tau: float, days: np.ndarray) -> np.ndarray:
        """Target events before each asked day ``o``, each weighted ``exp(-(o - 1 - d) / tau)``."""
        days = self._clip(days)
        ev = self.events["tgt"]
        q, bins = ev.binned(days)
        n = self.columns.size
        inside = bins < q.size
        b = bins[inside]  # an event's weight relative to the first asked day after it
        w = np.exp(-(q[b] - 1 - ev.day[inside]) / tau)
        per_bin = np.bincount(b * n + ev.col[inside], weights=w, minlength=q.size * n)
        per_bin = per_bin.reshape(q.size, n)
        out = np.empty((q.size, n))
        acc = np.zeros(n)
        for k in range(q.size):  # a running decayed sum over the few asked days
            if k:
                acc *= np.exp(-(q[k] - q[k - 1]) / tau)
            acc += per_bin[k]
            out[k] = acc
        return out[np.searchsorted(q, days)].astype(np.float32)

    def last_day(self, days: np.ndarray) -> np.ndarray:
        """Day of the last target event before each asked day (``-inf`` if none)."""
        days = self._clip(days)
        ev = self.events["tgt"]
        q, bins = ev.binned(days)
        n = self.columns.size
        inside = bins < q.size
        last = np.full((q.size, n), -np.inf, np.float32)
        np.maximum.at(last, (bins[inside], ev.col[inside]), ev.day[inside].astype(np.float32))
        np.maximum.accumulate(last, axis=0, out=last)
        return last[np.searchsorted(q, days)]

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
    decays: tuple[float, ...],
    others: dict[str, Events],
) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((grid, str(day0), n_days, len(target), len(everything), decays,
                   sorted((k, len(v)) for k, v in others.items()))).encode())
    h.update(np.ascontiguousarray(columns, np.int64).view(np.uint8).data)
    for ev in (target, everything, *(others[k] for k in sorted(others))):
        for arr in (ev.times, ev.x, ev.y):
            h.update(np.ascontiguousarray(arr).view(np.uint8).data)
    return h.digest()


def shared_history(
    grid: Grid,
    target: Events,
    everything: Events,
    day0: np.datetime64,
    n_days: int,
    columns: np.ndarray,
    decays: tuple[float, ...] = DECAYS,
    others: dict[str, Events] | None = None,
) -> CountHistory:
    """:meth:`CountHistory.build`, memoised for the latest inputs (keyed by a content hash).

    Several ML forecasters fitted on the same data then share one set of cubes (memory, time).
    """
    decays = tuple(float(t) for t in decays)
    others = dict(others or {})
    key = _digest(grid, target, everything, day0, n_days, columns, decays, others)
    hist = _HISTORY_CACHE.get(key)
    if hist is None:
        while len(_HISTORY_CACHE) >= 2:  # the latest two (methods with and without extras)
            _HISTORY_CACHE.pop(next(iter(_HISTORY_CACHE)))
        hist = CountHistory.build(grid, target, everything, day0, n_days, columns, decays,
                                  others)
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
    leading: tuple[str, ...] = (),
    lead_lags: tuple[int, ...] = LEAD_LAGS,
    rings: tuple[int, ...] = (),
    smooth: tuple[float, ...] = (),
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix ``(len(origins) * len(cells), n_features)`` (origin-major) and names.

    ``cells`` are flat grid indices (a subset of ``hist.columns``); ``start_days`` (default
    ``origins``) gives the window start used for calendar features. Optional families (none
    by default): ``leading`` names other categories held by ``hist`` (``others``); each gets
    its count in the cell and in the 3 x 3 neighbourhood over each of ``lead_lags`` days
    (``lead_<name>_cell_<lag>d``, ``lead_<name>_n3_<lag>d``). ``rings`` are wider box widths
    (cells) for the target's near-repeat counts at every lag of 7 to 365 days
    (``tgt_n<width>_<lag>d``). ``smooth`` are Gaussian bandwidths (in cells) of a kernel
    density of the target's decayed counts (the long-memory KDE as a feature:
    ``tgt_kde<bw>c_decay<tau>d`` for the longest decay).
    """
    o = np.asarray(origins, np.int64)
    grid = hist.grid
    pos = hist.positions(cells)
    cols: list[np.ndarray] = []
    names: list[str] = []

    def add(name: str, values: np.ndarray, on_grid: bool = False) -> None:
        cols.append((values[:, cells] if on_grid else values[:, pos]).ravel())
        names.append(name)

    target_full: dict[int, np.ndarray] = {}  # the target's counts per lag, on the full grid
    for label in KINDS:
        for lag in lags:  # a handful of time scales
            cnt = hist.window(label, o - lag, o)
            add(f"{label}_cell_{lag}d", cnt)
            full = hist.full(cnt)
            if label == "tgt":
                target_full[lag] = full
            for width in NEIGHBOURHOODS:
                add(f"{label}_n{width}_{lag}d", _box(full, grid, width), on_grid=True)
    for name in leading:
        for lag in lead_lags:
            cnt = hist.window(LEAD_PREFIX + name, o - lag, o)
            add(f"{LEAD_PREFIX}{name}_cell_{lag}d", cnt)
            add(f"{LEAD_PREFIX}{name}_n3_{lag}d", _box(hist.full(cnt), grid, 3), on_grid=True)
    for width in rings:
        for lag in (lag for lag in lags if 7 <= lag <= 365):
            add(f"tgt_n{width}_{lag}d", _box(target_full[lag], grid, width), on_grid=True)
    if smooth:
        tau = max(hist.decays)
        dec_full = hist.full(hist.decayed(tau, o)).reshape(-1, grid.ny, grid.nx)
        for bw in smooth:
            kde = gaussian_filter(dec_full.astype(np.float64), sigma=(0, bw, bw),
                                  mode="constant", truncate=4.0)
            add(f"tgt_kde{bw:g}c_decay{tau:g}d",
                np.maximum(kde, 0.0).reshape(o.size, grid.n_cells).astype(np.float32),
                on_grid=True)
    for tau in hist.decays:
        dec = hist.decayed(tau, o)
        add(f"tgt_cell_decay{tau:g}d", dec)
        add(f"tgt_n3_decay{tau:g}d", _box(hist.full(dec), grid, 3), on_grid=True)
    since = np.minimum(o[:, None] - 1 - hist.last_day(o), SINCE_CAP).astype(np.float32)
    add("tgt_cell_days_since", since)
    since_full = hist.full(since, SINCE_CAP).reshape(-1, grid.ny, grid.nx)
    near = minimum_filter(since_full, size=(1, 3, 3), mode="nearest")
    add("tgt_n3_days_since", near.reshape(o.size, grid.n_cells), on_grid=True)
    season = hist.window("tgt", o - 364 - 14, o - 364 + horizon_days + 14)
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
    return hist.window("tgt", o, o + horizon_days)[:, hist.positions(cells)].ravel()
