"""Hotspot accuracy metrics: hit rate, PAI, PEI, pooling over windows, Poisson deviance.

Conventions
- ``k = round(coverage * n_active)`` cells are flagged (half rounds up, at least 1, at most n).
- Ranking is by score descending, ties by cell position ascending (``np.lexsort``), so exactly
  ``k`` cells are flagged whatever the ties.
- hit rate = captured / events; PAI = hit rate / (k / n); PEI = captured / (largest number of
  events any ``k`` cells held). Windows without events give NaN per-window values.
- Pooled over windows: ``sum captured / sum events`` (PAI divides by the mean area share, which
  is ``k / n`` when the active area is fixed); PEI pooled = ``sum captured / sum best``.
- Intervals: per-window means use the normal approximation ``mean +- 1.96 sd / sqrt(n)``;
  pooled values use a percentile bootstrap over windows (1000 resamples, fixed seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

COVERAGES: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.10)


def n_flagged(coverage: float, n_active: int) -> int:
    """Number of cells flagged at ``coverage`` (a fraction, e.g. 0.01 for 1 %)."""
    if n_active < 1:
        raise ValueError("no active cells")
    return int(min(max(np.floor(coverage * n_active + 0.5), 1), n_active))


def rank_cells(scores: np.ndarray) -> np.ndarray:
    """Positions ordered by score descending, ties by position ascending."""
    scores = np.asarray(scores, float)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    return np.lexsort((np.arange(scores.size), -scores))


def top_cells(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores (deterministic tie-breaking)."""
    return rank_cells(scores)[:k]


def window_counts(
    scores: np.ndarray, counts: np.ndarray, coverages: tuple[float, ...] = COVERAGES
) -> dict[str, np.ndarray]:
    """Captured, best-possible and flagged cell numbers at each coverage for one window."""
    scores = np.asarray(scores, float)
    counts = np.asarray(counts, float)
    if scores.shape != counts.shape:
        raise ValueError("scores and counts must have the same shape")
    n = scores.size
    ks = np.array([n_flagged(c, n) for c in coverages])
    cum_pred = np.concatenate([[0.0], np.cumsum(counts[rank_cells(scores)])])
    cum_best = np.concatenate([[0.0], np.cumsum(np.sort(counts)[::-1])])
    return {
        "captured": cum_pred[ks],
        "best": cum_best[ks],
        "flagged": ks.astype(float),
        "events": np.full(len(coverages), counts.sum()),
        "cells": np.full(len(coverages), float(n)),
    }


def hit_rate(scores: np.ndarray, counts: np.ndarray, coverage: float) -> float:
    """Share of the window's events in the flagged cells (NaN without events)."""
    w = window_counts(scores, counts, (coverage,))
    return float(w["captured"][0] / w["events"][0]) if w["events"][0] > 0 else float("nan")


def pai(scores: np.ndarray, counts: np.ndarray, coverage: float) -> float:
    """Predictive accuracy index: hit rate / share of the area flagged."""
    w = window_counts(scores, counts, (coverage,))
    if w["events"][0] <= 0:
        return float("nan")
    return float(w["captured"][0] / w["events"][0] / (w["flagged"][0] / w["cells"][0]))


def pei(scores: np.ndarray, counts: np.ndarray, coverage: float) -> float:
    """Predictive efficiency index: captured / the most any same-size set could capture."""
    w = window_counts(scores, counts, (coverage,))
    return float(w["captured"][0] / w["best"][0]) if w["best"][0] > 0 else float("nan")


def poisson_deviance(y: np.ndarray, mu: np.ndarray, eps: float = 1e-9) -> float:
    """Total Poisson deviance ``2 sum(y log(y/mu) - (y - mu))``; ``mu`` clipped at ``eps``."""
    y = np.asarray(y, float)
    mu = np.maximum(np.asarray(mu, float), eps)
    ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(2.0 * np.sum(ylog - (y - mu)))


def mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and normal-approximation 95 % interval, ignoring NaN."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (float("nan"),) * 3
    m = float(v.mean())
    half = 1.96 * float(v.std(ddof=1)) / np.sqrt(v.size) if v.size > 1 else float("nan")
    return m, m - half, m + half


def bootstrap_ratio_ci(
    num: np.ndarray,
    den: np.ndarray,
    scale: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    block: int = 1,
) -> tuple[float, float]:
    """95 % percentile interval of ``sum(num)/sum(den)/mean(scale)`` resampling windows.

    ``block > 1`` resamples runs of ``block`` consecutive windows (a circular block
    bootstrap), for windows that are not independent (shared models, weather, seasons).
    """
    num, den = np.asarray(num, float), np.asarray(den, float)
    scale = np.ones_like(num) if scale is None else np.asarray(scale, float)
    if num.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n, b = num.size, int(min(max(block, 1), num.size))
    starts = rng.integers(0, n, size=(n_boot, -(-n // b)))
    idx = ((starts[:, :, None] + np.arange(b)) % n).reshape(n_boot, -1)[:, :n]
    d = den[idx].sum(axis=1)
    ratio = num[idx].sum(axis=1) / np.where(d > 0, d, np.nan) / scale[idx].mean(axis=1)
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(ratio, [2.5, 97.5])
    return float(lo), float(hi)


def summarise_windows(
    captured: np.ndarray,
    best: np.ndarray,
    flagged: np.ndarray,
    events: np.ndarray,
    cells: np.ndarray,
    coverages: tuple[float, ...] = COVERAGES,
    labels: Sequence[str] | None = None,
    intervals: bool = True,
) -> dict[str, Any]:
    """Pooled and per-window metrics from ``(n_windows, n_coverages)`` arrays.

    ``events`` and ``cells`` have shape ``(n_windows,)``. Entries are named ``labels`` (by
    default the coverages: ``"5%"``). ``intervals=False`` leaves out the pooled rates'
    bootstrap intervals (NaN), for callers that do not show them.
    """
    captured, best, flagged = (np.asarray(a, float) for a in (captured, best, flagged))
    events, cells = np.asarray(events, float), np.asarray(cells, float)
    share = flagged / cells[:, None]
    tot = events.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        hit_w = np.where(events[:, None] > 0, captured / events[:, None], np.nan)
        pai_w = hit_w / share
        pei_w = np.where(best > 0, captured / best, np.nan)
    out: dict[str, Any] = {"n_windows": int(events.size), "n_events": float(tot), "coverage": {}}
    names = list(labels) if labels is not None else [f"{c * 100:g}%" for c in coverages]
    no_interval = (float("nan"), float("nan"))
    for j, name in enumerate(names):
        hit = float(captured[:, j].sum() / tot) if tot > 0 else float("nan")
        area = float(share[:, j].mean())
        best_sum = best[:, j].sum()
        out["coverage"][name] = {
            "cells_flagged": float(flagged[:, j].mean()),
            "area_share": area,
            "hit_rate": hit,
            "hit_rate_ci": bootstrap_ratio_ci(captured[:, j], events) if intervals
            else no_interval,
            "pai": hit / area,
            "pai_ci": bootstrap_ratio_ci(captured[:, j], events, share[:, j]) if intervals
            else no_interval,
            "pei": float(captured[:, j].sum() / best_sum) if best_sum > 0 else float("nan"),
            "window_hit_rate": mean_ci(hit_w[:, j]),
            "window_pai": mean_ci(pai_w[:, j]),
            "window_pei": mean_ci(pei_w[:, j]),
        }
    return out
