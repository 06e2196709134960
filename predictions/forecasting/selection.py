"""Honest choice of a method: validation windows pick, later test windows report.

A training run backtests its candidates (the baselines and the model's own method) by
rolling origin over ``validation`` windows and then over the ``test`` windows right after
them, the most recent ones. The choice uses the validation windows only:

- the *best baseline* is the baseline that caught the most incidents in the top
  ``coverage`` of cells over the validation windows;
- a candidate's *margin* over it is ``captured(candidate) / captured(best baseline) - 1``
  (summed over windows; both flag the same number of cells in the same windows, so this is
  also the ratio of their pooled PAIs minus one);
- its 95 % interval is a paired circular block bootstrap over windows (both methods'
  counts of the same resampled windows): consecutive windows share most of their training
  data, their season and any change in recording, so they are not independent, which a
  paired t over windows would assume; resampling blocks of about four weeks keeps that
  dependence, and the ratio of sums needs no linearisation. The lower bound is the 2.5 %
  percentile (the lower end of the two-sided 95 % interval, as every interval the portal
  shows);
- the recommended method is the non-baseline candidate with the largest validation margin
  among those whose lower bound is above zero; with none, the best baseline.

The test windows, never used for the choice, then give the recommendation's honest margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backtest import ORACLE, BacktestResult
from .evaluation import bootstrap_ratio_ci, n_flagged

SELECTION_COVERAGE = 0.01
BLOCK_DAYS = 28
N_BOOT = 2000


# history the first validation window must leave before it (training data for the methods)
MIN_HISTORY_DAYS = 56


def split_origins(first: np.datetime64, until: np.datetime64, horizon_days: int,
                  n_validation: int, n_test: int, min_history_days: int = MIN_HISTORY_DAYS,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Window starts: ``n_validation`` windows, then ``n_test`` windows ending at ``until``.

    Windows are consecutive and do not overlap. With too little data before them (the
    first validation window must leave ``min_history_days`` of history), both counts shrink
    in proportion; ValueError when not even one of each fits.
    """
    if n_validation < 1 or n_test < 1:
        raise ValueError("at least one validation and one test window")
    step = np.timedelta64(int(horizon_days), "D")
    span_days = (until - first) / np.timedelta64(1, "D")
    fits = int((span_days - min_history_days) // horizon_days)
    total = n_validation + n_test
    if fits < total:
        if fits < 2:
            raise ValueError(
                f"too little history for a validation and a test window of {horizon_days} "
                f"days after {min_history_days} days of training data")
        n_test = max(1, round(fits * n_test / total))
        n_validation = max(1, fits - n_test)
        total = n_validation + n_test
    starts = until - step * np.arange(total, 0, -1)
    return starts[:n_validation], starts[n_validation:]


def block_length(horizon_days: int, n_windows: int) -> int:
    """Windows per bootstrap block: about four weeks, at most a quarter of the windows."""
    return int(max(1, min(round(BLOCK_DAYS / max(horizon_days, 1)), n_windows // 4)))


def captured_at(result: BacktestResult, name: str, coverage: float,
                windows: Sequence[int]) -> np.ndarray:
    """Incidents ``name`` caught in the top ``coverage`` of cells in each of ``windows``."""
    res = result.methods[name]
    cells = [int(res.cells[w]) for w in windows]
    out = np.empty(len(windows))
    for i, w in enumerate(windows):
        k = n_flagged(coverage, cells[i])
        flagged = np.asarray(res.flagged[w])
        j = int(np.flatnonzero(flagged == k)[0]) if (flagged == k).any() else None
        if j is None:
            raise ValueError(f"coverage {coverage} was not scored by the backtest")
        out[i] = res.captured[w][j]
    return out


def margin(captured: np.ndarray, reference: np.ndarray, block: int = 1,
           n_boot: int = N_BOOT, seed: int = 0) -> dict[str, float | None]:
    """``sum(captured) / sum(reference) - 1`` with its paired block-bootstrap 95 % interval
    (None where the reference caught nothing)."""
    captured, reference = np.asarray(captured, float), np.asarray(reference, float)
    if reference.sum() <= 0:
        return {"margin": None, "low": None, "high": None}
    lo, hi = bootstrap_ratio_ci(captured, reference, n_boot=n_boot, seed=seed, block=block)
    value = float(captured.sum() / reference.sum() - 1.0)
    return {"margin": value, "low": None if np.isnan(lo) else float(lo - 1.0),
            "high": None if np.isnan(hi) else float(hi - 1.0)}


def _period(result: BacktestResult, names: Sequence[str], best: str, windows: Sequence[int],
            coverage: float) -> dict[str, Any]:
    block = block_length(result.horizon_days, len(windows))
    ref = captured_at(result, best, coverage, windows)
    events = float(sum(result.methods[best].events[w] for w in windows))
    out: dict[str, Any] = {
        "windows": len(windows), "events": events, "block": block,
        "from": str(result.starts[windows[0]]) if len(windows) else None,
        "to": str(result.starts[windows[-1]] + np.timedelta64(result.horizon_days, "D"))
        if len(windows) else None,
        "methods": {},
    }
    for name in names:
        caught = captured_at(result, name, coverage, windows)
        out["methods"][name] = {
            "caught": float(caught.sum()),
            "hit_rate": float(caught.sum() / events) if events > 0 else None,
            **({"margin": None, "low": None, "high": None} if name == best
               else margin(caught, ref, block)),
        }
    return out


def recommend(result: BacktestResult, *, baselines: Sequence[str], candidates: Sequence[str],
              validation: Sequence[int], test: Sequence[int],
              coverage: float = SELECTION_COVERAGE) -> dict[str, Any]:
    """The recommendation (see the module docstring) from one backtest whose windows
    ``validation`` (positions) precede its windows ``test``. JSON-ready."""
    validation, test = list(validation), list(test)
    if not validation or not test or max(validation) >= min(test):
        raise ValueError("validation windows must come before the test windows")
    baselines = [b for b in baselines if b in result.methods and b != ORACLE]
    candidates = [c for c in candidates if c in result.methods and c not in baselines]
    if not baselines:
        raise ValueError("no baseline to compare with")
    hits = {b: captured_at(result, b, coverage, validation).sum() for b in baselines}
    best = max(baselines, key=lambda b: (hits[b], -baselines.index(b)))
    names = [*baselines, *candidates]
    val = _period(result, names, best, validation, coverage)
    winners = [c for c in candidates
               if val["methods"][c]["low"] is not None and val["methods"][c]["low"] > 0]
    chosen = max(winners, key=lambda c: val["methods"][c]["margin"]) if winners else best
    tst = _period(result, names, best, test, coverage)
    if not candidates:
        reason = (f"Only baselines were compared; {best} caught the most incidents on the "
                  "validation windows.")
    elif chosen == best:
        reason = (f"No candidate beat the best baseline, {best}, clearly on the validation "
                  "windows (the lower end of its margin's 95 % interval was at or below "
                  f"zero): {best} is the better choice.")
    else:
        v = val["methods"][chosen]
        reason = (f"{chosen} caught {100 * v['margin']:+.1f} % [{100 * v['low']:+.1f}, "
                  f"{100 * v['high']:+.1f}] more incidents than the best baseline, {best}, "
                  "on the validation windows.")
    return {
        "coverage": f"{coverage * 100:g}%",
        "metric": f"incidents caught in the top {coverage * 100:g} % of cells",
        "interval": "paired circular block bootstrap over windows, 95 %",
        "best_baseline": best,
        "recommended": chosen,
        "recommended_is_baseline": chosen == best,
        "candidates": list(candidates),
        "reason": reason,
        "validation": val,
        "test": tst,
    }
