"""Rolling-origin backtest.

For each window ``[t, t + h)`` every method is fitted on the events strictly before ``t`` (the
backtest slices them itself, it does not trust the method), predicts, and is scored against the
target category's events in the window in the active cells. ``"oracle"`` is a pseudo-method that
ranks cells by the realised counts (the best any method could do).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import Forecaster
from .counts import cell_counts
from .evaluation import COVERAGES, poisson_deviance, summarise_windows, window_counts
from .events import DAY, Events, as_time, day_floor
from .grid import Grid
from .registry import make_forecaster

ORACLE = "oracle"
HORIZONS = (1, 7, 28)

MethodSpec = str | tuple[str, dict[str, Any]]
Scorer = Callable[[Events, np.datetime64, int], np.ndarray]


def rolling_origins(
    first: Any, last: Any, horizon_days: int, step_days: int | None = None
) -> np.ndarray:
    """Window starts (``datetime64[D]``) from ``first`` while the window ends by ``last``.

    ``step_days`` defaults to the horizon (non-overlapping windows).
    """
    step = int(step_days or horizon_days)
    a, b = day_floor(first), day_floor(last)
    n = int(((b - a) // DAY - horizon_days) // step) + 1
    return a + np.arange(max(n, 0)) * step * DAY


@dataclass
class MethodResult:
    """Per-window raw counts (``(n_windows, n_coverages)``) and timings for one method."""

    name: str
    captured: list[np.ndarray] = field(default_factory=list)
    best: list[np.ndarray] = field(default_factory=list)
    flagged: list[np.ndarray] = field(default_factory=list)
    events: list[float] = field(default_factory=list)
    cells: list[float] = field(default_factory=list)
    deviance: list[float] = field(default_factory=list)
    fit_seconds: list[float] = field(default_factory=list)
    predict_seconds: list[float] = field(default_factory=list)
    gives_counts: bool = True

    def add(self, scores: np.ndarray, counts: np.ndarray, coverages: tuple[float, ...]) -> None:
        w = window_counts(scores, counts, coverages)
        self.captured.append(w["captured"])
        self.best.append(w["best"])
        self.flagged.append(w["flagged"])
        self.events.append(float(counts.sum()))
        self.cells.append(float(counts.size))
        dev = poisson_deviance(counts, scores) / counts.size if self.gives_counts else np.nan
        self.deviance.append(dev)

    def summary(self, coverages: tuple[float, ...] = COVERAGES) -> dict[str, Any]:
        """JSON-friendly pooled and per-window metrics plus mean timings."""
        out = summarise_windows(
            np.array(self.captured),
            np.array(self.best),
            np.array(self.flagged),
            np.array(self.events),
            np.array(self.cells),
            coverages,
        )
        dev = np.array(self.deviance, float)
        out["mean_poisson_deviance"] = float(np.nanmean(dev)) if np.isfinite(dev).any() else None
        out["fit_seconds_mean"] = float(np.mean(self.fit_seconds)) if self.fit_seconds else 0.0
        out["predict_seconds_mean"] = (
            float(np.mean(self.predict_seconds)) if self.predict_seconds else 0.0
        )
        out["fit_seconds_total"] = float(np.sum(self.fit_seconds))
        out["predict_seconds_total"] = float(np.sum(self.predict_seconds))
        return out


@dataclass
class BacktestResult:
    target: Any
    horizon_days: int
    starts: np.ndarray
    methods: dict[str, MethodResult]
    predictions: dict[str, list[np.ndarray]] | None = None  # name -> active scores per window
    active_cells: list[np.ndarray] | None = None  # flat cell indices per window
    grid: Grid | None = None

    def summary(self, coverages: tuple[float, ...] = COVERAGES) -> dict[str, Any]:
        return {name: m.summary(coverages) for name, m in self.methods.items()}

    def windows(self, positions: Sequence[int]) -> BacktestResult:
        """The same backtest restricted to the windows at ``positions`` (e.g. its test
        windows, after the validation windows chose a method)."""
        pos = list(positions)

        def pick(values: list) -> list:
            return [values[i] for i in pos]

        methods = {
            name: MethodResult(
                name, pick(m.captured), pick(m.best), pick(m.flagged), pick(m.events),
                pick(m.cells), pick(m.deviance),
                pick(m.fit_seconds) if len(m.fit_seconds) == len(m.events) else [],
                pick(m.predict_seconds) if len(m.predict_seconds) == len(m.events) else [],
                m.gives_counts)
            for name, m in self.methods.items()}
        return BacktestResult(
            target=self.target, horizon_days=self.horizon_days, starts=self.starts[pos],
            methods=methods,
            predictions=None if self.predictions is None
            else {k: pick(v) for k, v in self.predictions.items()},
            active_cells=None if self.active_cells is None else pick(self.active_cells),
            grid=self.grid)

    def export_predictions(self) -> dict[str, np.ndarray]:
        """Columns ``method, window_start, cell, col, row, score`` (one row per active cell)."""
        if self.predictions is None or self.active_cells is None or self.grid is None:
            raise ValueError("run the backtest with export=True")
        parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("method", "window_start", "cell", "col", "row", "score")
        }
        for name, per_window in self.predictions.items():
            for start, cells, scores in zip(
                self.starts, self.active_cells, per_window, strict=True
            ):
                col, row = self.grid.index_to_col_row(cells)
                parts["method"].append(np.full(cells.size, name, dtype=object))
                parts["window_start"].append(np.full(cells.size, start))
                parts["cell"].append(cells)
                parts["col"].append(col)
                parts["row"].append(row)
                parts["score"].append(scores)
        return {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}


def _spec(spec: MethodSpec) -> tuple[str, str, dict[str, Any]]:
    """(label, registry name, params) of a method spec: ``name`` or ``(label, params)``.

    ``params`` may contain ``"method"`` to use a registry name different from the label.
    """
    if isinstance(spec, str):
        return spec, spec, {}
    label, params = spec
    params = dict(params)
    return label, params.pop("method", label), params


def run_backtest(
    events: Events,
    grid: Grid,
    methods: Iterable[MethodSpec] | Mapping[str, dict[str, Any]],
    starts: Iterable[Any],
    horizon_days: int,
    target: Any = None,
    coverages: tuple[float, ...] = COVERAGES,
    oracle: bool = True,
    export: bool = False,
    extra_scorers: Mapping[str, Scorer] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of ``methods`` over windows starting at ``starts``.

    ``methods``: names, ``(label, params)`` pairs or a ``{label: params}`` mapping; params are
    passed to :func:`make_forecaster` (``horizon_days`` is set for methods that take it).
    ``extra_scorers``: pseudo-methods ``f(past_events, start, h) -> full-grid scores`` (e.g.
    the synthetic city's true intensity); they only ever receive events before ``start``.
    """
    specs = [_spec(s) for s in (methods.items() if isinstance(methods, Mapping) else methods)]
    events = events.sorted()
    starts = np.array([as_time(s) for s in starts], dtype="datetime64[s]")
    targets = events.of_category(target)
    forecasters: dict[str, Forecaster] = {}
    for label, name, params in specs:
        f = make_forecaster(name, grid=grid, target=target, **params)
        if "horizon_days" in f.get_params() and "horizon_days" not in params:
            f.set_params(horizon_days=horizon_days)
        forecasters[label] = f
    labels = list(forecasters) + list(extra_scorers or {}) + ([ORACLE] if oracle else [])
    results = {k: MethodResult(k) for k in labels}
    preds: dict[str, list[np.ndarray]] = {k: [] for k in labels}
    actives: list[np.ndarray] = []
    for t in starts:  # loop over forecast windows
        cut = int(np.searchsorted(events.times, t, side="left"))
        past = events.subset(slice(0, cut))  # the leakage guard: nothing at or after t
        active = grid.active_mask(past)
        actives.append(np.flatnonzero(active))
        truth = cell_counts(grid, targets.between(t, t + horizon_days * DAY))[active]
        for label, f in forecasters.items():
            t0 = time.perf_counter()
            f.fit(past, t)
            t1 = time.perf_counter()
            scores = f.predict_grid(t, horizon_days)[active]
            t2 = time.perf_counter()
            res = results[label]
            res.gives_counts = bool(f.gives_counts)
            res.fit_seconds.append(t1 - t0)
            res.predict_seconds.append(t2 - t1)
            res.add(scores, truth, coverages)
            if export:
                preds[label].append(scores.astype(np.float32))
        for label, scorer in (extra_scorers or {}).items():
            t0 = time.perf_counter()
            scores = np.asarray(scorer(past, t, horizon_days), float)[active]
            results[label].predict_seconds.append(time.perf_counter() - t0)
            results[label].add(scores, truth, coverages)
            if export:
                preds[label].append(scores.astype(np.float32))
        if oracle:
            results[ORACLE].gives_counts = False
            results[ORACLE].add(truth, truth, coverages)
            if export:
                preds[ORACLE].append(truth.astype(np.float32))
        if progress:
            progress(str(t))
    return BacktestResult(
        target=target,
        horizon_days=int(horizon_days),
        starts=starts.astype("datetime64[D]"),
        methods=results,
        predictions=preds if export else None,
        active_cells=actives if export else None,
        grid=grid,
    )
