"""Scoring issued forecasts after the fact, once their window has closed.

A forecast is scored on the cells it ranked (its active cells) against the incidents of its
target in its window ``[start, start + horizon)``: nothing before ``start`` and nothing from
``start + horizon`` on counts. The baseline the agency would otherwise have used is fitted
only on incidents before ``start`` (no future data) and ranked on the same cells.

Each coverage is scored as a backtest window is (``evaluation.window_counts``): captured,
best possible, flagged cells, events and cells, and from them hit rate, PAI and PEI
(``evaluation.summarise_windows`` of that one window). The running score of a model pools
its scored forecasts as the backtest pools windows (``summarise_windows`` of all of them):
hit rate = sum captured / sum events, PAI = that / the mean share of the area flagged.

Coverages are given by label (``{"viewed": 0.0123, "1%": 0.01, ...}``); a coverage of
``k / n`` flags exactly ``k`` of ``n`` cells (``evaluation.n_flagged``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .counts import cell_counts
from .evaluation import n_flagged, summarise_windows, top_cells, window_counts
from .events import DAY, Events, as_time
from .fairness import Groups, exposure
from .grid import Grid
from .registry import make_forecaster

SCORE_COVERAGES: tuple[float, ...] = (0.01, 0.02, 0.05)
COUNTS = ("captured", "best", "flagged", "events", "cells")
RATES = ("hit_rate", "pai", "pei")
# The baseline an agency without a model uses: its cells' counts of the last four weeks.
BASELINE_METHOD = "recent_counts"
BASELINE_PARAMS: dict[str, Any] = {"days": 28}


def coverage_label(coverage: float) -> str:
    """``0.01`` -> ``"1%"``, as the backtest names coverages."""
    return f"{coverage * 100:g}%"


def coverages_with_viewed(flagged: int, n_cells: int,
                          fixed: Sequence[float] = SCORE_COVERAGES) -> dict[str, float]:
    """``{"viewed": flagged / n_cells, "1%": 0.01, ...}``: the coverage a user viewed (as a
    number of flagged cells) and the fixed ones."""
    if n_cells < 1:
        raise ValueError("no cells")
    if not 1 <= flagged <= n_cells:
        raise ValueError("flagged must be between 1 and the number of cells")
    return {"viewed": flagged / n_cells, **{coverage_label(c): float(c) for c in fixed}}


def window_truth(events: Events, grid: Grid, start: Any, horizon_days: int, target: Any,
                 cells: np.ndarray) -> np.ndarray:
    """Incidents of `target` in ``[start, start + horizon_days)`` in each of `cells` (flat
    grid indices); incidents elsewhere or at other times are not counted."""
    t0 = as_time(start)
    inside = events.of_category(target).between(t0, t0 + int(horizon_days) * DAY)
    return cell_counts(grid, inside)[np.asarray(cells, np.int64)]


def baseline_scores(events: Events, grid: Grid, start: Any, horizon_days: int, target: Any,
                    cells: np.ndarray, *, method: str = BASELINE_METHOD,
                    params: Mapping[str, Any] | None = None) -> np.ndarray:
    """The baseline's scores on `cells` for the window starting `start`, fitted only on the
    incidents before `start`."""
    t0 = as_time(start)
    forecaster = make_forecaster(method, grid=grid, target=target,
                                 **dict(BASELINE_PARAMS if params is None else params))
    if "horizon_days" in forecaster.get_params():
        forecaster.set_params(horizon_days=int(horizon_days))
    forecaster.fit(events.before(t0), t0)
    return forecaster.predict_grid(t0, int(horizon_days))[np.asarray(cells, np.int64)]


def score_window(scores: np.ndarray, counts: np.ndarray,
                 coverages: Mapping[str, float]) -> dict[str, dict[str, float | None]]:
    """Per coverage label: the window's counts (captured, best, flagged, events, cells) and
    rates (hit_rate, pai, pei; None without incidents) for a ranking by `scores`."""
    if not coverages:
        raise ValueError("no coverage to score")
    values = tuple(coverages.values())
    w = window_counts(scores, counts, values)
    summary = _summarise([{k: w[k][j] for k in COUNTS} for j in range(len(values))])
    out: dict[str, dict[str, float | None]] = {}
    for j, label in enumerate(coverages):
        row: dict[str, float | None] = {k: float(w[k][j]) for k in COUNTS}
        row.update({k: _finite(summary[j][k]) for k in RATES})
        out[label] = row
    return out


def running_score(windows: Sequence[Mapping[str, Mapping[str, float]]],
                  labels: Sequence[str], *, intervals: bool = True,
                  ) -> dict[str, dict[str, Any]]:
    """Pooled rates of scored windows (each ``{label: {captured, best, flagged, events,
    cells}}``, as `score_window` gives them) per label, with the backtest's 95 % intervals
    (None with ``intervals=False``):
    ``{label: {windows, events, area_share, hit_rate, hit_rate_ci, pai, pai_ci, pei}}``."""
    if not windows:
        return {}
    labels = list(labels)
    arrays = {k: np.array([[float(w[label][k]) for label in labels] for w in windows])
              for k in COUNTS}
    out = summarise_windows(arrays["captured"], arrays["best"], arrays["flagged"],
                            arrays["events"][:, 0], arrays["cells"][:, 0],
                            labels=labels, intervals=intervals)
    result = {}
    for label, entry in out["coverage"].items():
        result[label] = {
            "windows": out["n_windows"], "events": out["n_events"],
            "area_share": _finite(entry["area_share"]),
            "hit_rate": _finite(entry["hit_rate"]),
            "hit_rate_ci": [_finite(v) for v in entry["hit_rate_ci"]],
            "pai": _finite(entry["pai"]),
            "pai_ci": [_finite(v) for v in entry["pai_ci"]],
            "pei": _finite(entry["pei"]),
        }
    return result


def flagged_exposure(groups: Groups, cells: np.ndarray, scores: np.ndarray, flagged: int,
                     crime: np.ndarray | None = None) -> dict[str, dict[str, float | None]]:
    """Each group's exposure (``fairness.exposure``) when the `flagged` highest `scores` of
    `cells` (flat grid indices, one score each) are flagged; `crime`: incidents per cell of
    `cells` (the window's), for the exposure against each group's share of crime."""
    cells = np.asarray(cells, np.int64)
    k = n_flagged(flagged / cells.size, cells.size)
    full_crime = None
    if crime is not None:
        full_crime = np.zeros(groups.residents.shape[0])
        full_crime[cells] = np.asarray(crime, float)
    return exposure(groups, cells, cells[top_cells(scores, k)], full_crime)


def _summarise(rows: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
    """One window's rates per coverage, by `summarise_windows` (the backtest's arithmetic)."""
    n = len(rows)
    out = summarise_windows(np.array([[r["captured"] for r in rows]]),
                            np.array([[r["best"] for r in rows]]),
                            np.array([[r["flagged"] for r in rows]]),
                            np.array([rows[0]["events"]]), np.array([rows[0]["cells"]]),
                            labels=[str(i) for i in range(n)], intervals=False)
    return list(out["coverage"].values())


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
