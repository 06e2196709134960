"""Fairness of flagged cells across groups of residents.

A *grouping* labels each polygon of an area layer (e.g. census tracts by majority
race/ethnicity of residents, or by poverty-rate quintile). Areal weighting then estimates the
residents of every grid cell in every group, and each cell belongs, for accuracy by group, to
the group most of its residents are in (cells without residents: ``"no residents"``).

Exposure of group g for a set of flagged cells::

    exposure ratio(g) = (share of the flagged cells' residents in g) / (g's share of residents)

1 is parity; 2 means g's residents live in flagged cells twice as often as everyone's. The
same is given against g's share of the recorded crime and of the area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from .areal import AreaWeights
from .evaluation import n_flagged, top_cells

NO_RESIDENTS = "no residents"


@dataclass(frozen=True)
class Groups:
    """Estimated residents and area of each full-grid cell in each group."""

    names: tuple[str, ...]
    residents: np.ndarray  # (n_cells, n_groups)
    area: np.ndarray  # (n_cells, n_groups), m²

    def dominant(self, cells: np.ndarray) -> np.ndarray:
        """Group label of each cell: the group most of its residents are in."""
        res = self.residents[cells]
        label = np.array(self.names, dtype=object)[np.argmax(res, axis=1)]
        return np.where(res.sum(axis=1) > 0, label, NO_RESIDENTS)


def majority_labels(counts: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Per polygon, the name of the column with the most residents (``counts``: (n, k))."""
    counts = np.nan_to_num(np.asarray(counts, float))
    if counts.ndim != 2 or counts.shape[1] != len(names) or not len(names):
        raise ValueError("counts must be (n_polygons, len(names))")
    return np.array(list(names), dtype=object)[np.argmax(counts, axis=1)]


def quantile_labels(
    values: np.ndarray, population: np.ndarray, q: int = 5, label: str = "quintile"
) -> np.ndarray:
    """Per polygon, its population-weighted ``q``-quantile of ``values`` ("1" = lowest).

    Polygons are sorted by value; a polygon falls in the quantile holding the middle of its
    residents, so each quantile holds about ``1/q`` of the population. Missing: ``"unknown"``.
    """
    values = np.asarray(values, float)
    pop = np.nan_to_num(np.asarray(population, float)).clip(min=0)
    if q < 2:
        raise ValueError("q must be at least 2")
    out = np.full(values.size, "unknown", dtype=object)
    ok = np.isfinite(values) & (pop > 0)
    if not ok.any():
        return out
    order = np.flatnonzero(ok)[np.argsort(values[ok], kind="stable")]
    cum = np.cumsum(pop[order])
    middle = (cum - pop[order] / 2.0) / cum[-1]
    k = np.minimum((middle * q).astype(int), q - 1) + 1
    out[order] = [f"{label} {i} of {q}" for i in k]
    return out


def groups_from_layer(
    weights: AreaWeights, labels: np.ndarray, population: np.ndarray
) -> Groups:
    """Residents per cell and group from polygon ``labels`` and ``population``."""
    labels = np.asarray(labels, dtype=object)
    names = tuple(sorted({str(v) for v in labels}))
    onehot = (labels[:, None] == np.array(names, dtype=object)[None, :]).astype(float)
    pop = np.nan_to_num(np.asarray(population, float)).clip(min=0)
    residents = weights.allocate(onehot * pop[:, None])
    area = np.asarray(weights.overlap @ onehot)
    return Groups(names, residents, area)


def exposure(groups: Groups, active: np.ndarray, flagged: np.ndarray,
             crime: np.ndarray | None = None) -> dict[str, dict[str, float | None]]:
    """Exposure of each group for ``flagged`` (a subset of the ``active`` cell indices).

    ``crime`` (full grid, optional): recorded incidents per cell, split between groups by the
    cell's area in each group's polygons.
    """
    res = groups.residents[active]
    area = groups.area[active]
    mask = np.isin(active, flagged)
    pop_total = res.sum()
    flagged_res = res[mask].sum(axis=0)
    flagged_total = flagged_res.sum()
    area_share = _share(area)
    crime_g = None
    if crime is not None:
        cover = area.sum(axis=1, keepdims=True)
        split = np.divide(area, cover, out=np.zeros_like(area), where=cover > 0)
        crime_g = (np.asarray(crime, float)[active][:, None] * split).sum(axis=0)
    flagged_area = area[mask].sum(axis=0)
    out: dict[str, dict[str, float | None]] = {}
    for j, name in enumerate(groups.names):
        pop_share = res[:, j].sum() / pop_total if pop_total > 0 else np.nan
        flag_share = flagged_res[j] / flagged_total if flagged_total > 0 else np.nan
        row = {
            "residents": float(res[:, j].sum()),
            "population_share": _f(pop_share),
            "flagged_residents": float(flagged_res[j]),
            "flagged_resident_share": _f(flag_share),
            "exposure_ratio": _f(flag_share / pop_share) if pop_share > 0 else None,
            "area_share": _f(area_share[j]),
            "flagged_area_share": _f(flagged_area[j] / flagged_area.sum())
            if flagged_area.sum() > 0 else None,
        }
        if crime_g is not None:
            crime_share = crime_g[j] / crime_g.sum() if crime_g.sum() > 0 else np.nan
            row["crime_share"] = _f(crime_share)
            row["exposure_to_crime_ratio"] = (
                _f(flag_share / crime_share) if crime_share > 0 else None
            )
        out[name] = row
    return out


def largest_disparity(ratios: Sequence[float | None]) -> float | None:
    """max over groups of ``max(r, 1/r)``: 1 is parity; infinite if a group gets none."""
    vals = [r for r in ratios if r is not None and np.isfinite(r)]
    if not vals:
        return None
    if min(vals) <= 0:
        return float("inf")
    return float(max(max(vals), 1.0 / min(vals)))


# accuracy by group ------------------------------------------------------------------------------
# Rows are cells with their sums over windows: y_true = events, y_pred = events captured (in
# windows where the cell was flagged); the other sums come as sample parameters.
def _hit_rate(y_true, y_pred) -> float:
    events = float(np.sum(y_true))
    return float(np.sum(y_pred) / events) if events else np.nan


def _flagged_share(y_true, y_pred, flagged, slots) -> float:
    return float(np.sum(flagged) / np.sum(slots)) if np.sum(slots) else np.nan


def _empty_flag_share(y_true, y_pred, flagged, empty) -> float:
    return float(np.sum(empty) / np.sum(flagged)) if np.sum(flagged) else np.nan


def _calibration(y_true, y_pred, expected) -> float:
    observed = float(np.sum(y_true))
    return float(np.sum(expected) / observed) if observed else np.nan


def accuracy_frame(
    events: np.ndarray, captured: np.ndarray, flagged: np.ndarray, empty: np.ndarray,
    expected: np.ndarray, n_windows: int, labels: np.ndarray,
) -> MetricFrame:
    """fairlearn ``MetricFrame`` by group of hit rate, flagged share, share of flagged cells
    without a recorded incident and calibration (predicted / observed).

    One row per cell with its sums over ``n_windows`` windows: events, events captured while
    flagged, windows flagged, windows flagged without an event, predicted count.
    """
    slots = np.full(np.asarray(events).size, float(n_windows))
    return MetricFrame(
        metrics={"hit_rate": _hit_rate, "flagged_share": _flagged_share,
                 "flagged_without_crime": _empty_flag_share, "calibration": _calibration},
        y_true=np.asarray(events, float),
        y_pred=np.asarray(captured, float),
        sensitive_features=pd.Series(np.asarray(labels, dtype=object), name="group"),
        sample_params={
            "flagged_share": {"flagged": np.asarray(flagged, float), "slots": slots},
            "flagged_without_crime": {"flagged": np.asarray(flagged, float),
                                      "empty": np.asarray(empty, float)},
            "calibration": {"expected": np.asarray(expected, float)},
        },
    )


@dataclass
class WindowSums:
    """Per window and group: events, captured, cells, flagged cells, empty flagged, expected."""

    groups: tuple[str, ...]
    sums: np.ndarray  # (n_windows, n_groups, 6)

    FIELDS = ("events", "captured", "cells", "flagged", "flagged_empty", "expected")

    def metrics(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        s = self.sums if rows is None else self.sums[rows]
        t = s.sum(axis=0)
        ev, cap, cells, fl, empty, exp = (t[:, i] for i in range(6))
        with np.errstate(divide="ignore", invalid="ignore"):
            hit = cap / ev
            return {"hit_rate": hit, "pai": hit / (fl / cells), "calibration": exp / ev,
                    "flagged_without_crime": empty / fl}


def window_sums(
    observed: Sequence[np.ndarray], scores: Sequence[np.ndarray], labels: np.ndarray,
    groups: Sequence[str], coverage: float, gives_counts: bool = True,
) -> WindowSums:
    """Sums per window (rows of ``observed``/``scores`` over the same active cells) and group."""
    labels = np.asarray(labels, dtype=object)
    out = np.zeros((len(observed), len(groups), 6))
    for w, (obs, sc) in enumerate(zip(observed, scores, strict=True)):
        obs = np.asarray(obs, float)
        flag = np.zeros(obs.size, bool)
        flag[top_cells(sc, n_flagged(coverage, obs.size))] = True
        exp = np.asarray(sc, float) if gives_counts else np.full(obs.size, np.nan)
        for j, g in enumerate(groups):
            m = labels == g
            out[w, j] = (obs[m].sum(), obs[m & flag].sum(), m.sum(), (m & flag).sum(),
                         ((obs == 0) & m & flag).sum(), exp[m].sum())
    return WindowSums(tuple(groups), out)


def accuracy_by_group(
    observed: Sequence[np.ndarray], scores: Sequence[np.ndarray], labels: np.ndarray,
    coverage: float, gives_counts: bool = True, n_boot: int = 500, seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Pooled accuracy per group with percentile-bootstrap 95 % intervals over windows.

    The point estimates come from fairlearn's ``MetricFrame`` over every cell-window; the
    intervals resample whole windows (numpy sums, the same arithmetic).
    """
    labels = np.asarray(labels, dtype=object)
    groups = tuple(sorted({str(v) for v in labels}))
    n_cells = labels.size
    obs = np.array([np.asarray(o, float) for o in observed])  # (windows, cells)
    flags = np.zeros(obs.shape, bool)
    for w, s in enumerate(scores):
        flags[w, top_cells(s, n_flagged(coverage, n_cells))] = True
    expected = (np.array([np.asarray(s, float) for s in scores]).sum(axis=0) if gives_counts
                else np.full(n_cells, np.nan))
    frame = accuracy_frame(obs.sum(axis=0), (obs * flags).sum(axis=0), flags.sum(axis=0),
                           (flags & (obs == 0)).sum(axis=0), expected, len(observed), labels)
    by_group = frame.by_group
    sums = window_sums(observed, scores, labels, groups, coverage, gives_counts)
    rng = np.random.default_rng(seed)
    boots = [sums.metrics(rng.integers(0, len(observed), len(observed))) for _ in range(n_boot)]
    out: dict[str, dict[str, Any]] = {}
    for j, g in enumerate(groups):
        row = by_group.loc[g]
        hit, share = row["hit_rate"], row["flagged_share"]
        entry: dict[str, Any] = {
            "cells": int((labels == g).sum()),
            "events": float(sums.sums[:, j, 0].sum()),
            "hit_rate": _f(hit),
            "pai": _f(hit / share) if share and share > 0 else None,
            "flagged_share": _f(share),
            "flagged_without_crime": _f(row["flagged_without_crime"]),
            "calibration": _f(row["calibration"]) if gives_counts else None,
        }
        for key in ("hit_rate", "pai", "calibration"):
            vals = np.array([b[key][j] for b in boots])
            vals = vals[np.isfinite(vals)]
            entry[f"{key}_ci95"] = (
                [_f(np.percentile(vals, 2.5)), _f(np.percentile(vals, 97.5))]
                if vals.size and (key != "calibration" or gives_counts) else None
            )
        out[g] = entry
    return out


def _share(matrix: np.ndarray) -> np.ndarray:
    total = matrix.sum()
    return matrix.sum(axis=0) / total if total > 0 else np.full(matrix.shape[1], np.nan)


def _f(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
