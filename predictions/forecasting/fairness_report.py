"""The fairness report of one method's backtest for one grouping of residents.

Built from a backtest run with ``export=True`` (per-window scores of the method and the
oracle's realised counts over the same active cells): exposure of each group, accuracy by
group with intervals, the fairness-aware selection at the agency's band, and the trade-off
curve (PAI at 1 % and 5 % against the largest exposure disparity for several bands).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backtest import ORACLE, BacktestResult
from .evaluation import n_flagged
from .fair_selection import DEFAULT_BAND, exposure_ratios, select_cells
from .fairness import Groups, _f, accuracy_by_group, exposure, largest_disparity

EXPOSURE_COVERAGES = (0.01, 0.02, 0.05)
TRADEOFF_COVERAGES = (0.01, 0.05)
TRADEOFF_BANDS: tuple[tuple[float, float] | None, ...] = (
    None, (0.5, 2.0), (0.67, 1.5), (0.8, 1.25), (0.9, 1.11),
)


def pooled_exposure(
    groups: Groups, actives: Sequence[np.ndarray], chosen: Sequence[np.ndarray],
    crime: np.ndarray | None = None,
) -> dict[str, dict[str, float | None]]:
    """Exposure of the flagged cells summed over windows (a cell flagged twice counts twice)."""
    names = groups.names
    flagged_res = np.zeros(len(names))
    flagged_area = np.zeros(len(names))
    for act, ch in zip(actives, chosen, strict=True):
        flagged_res += groups.residents[act[ch]].sum(axis=0)
        flagged_area += groups.area[act[ch]].sum(axis=0)
    base = exposure(groups, actives[-1], np.zeros(0, int), crime)
    total = flagged_res.sum()
    for j, name in enumerate(names):
        row = base[name]
        share = flagged_res[j] / total if total > 0 else np.nan
        pop_share = row["population_share"]
        row["flagged_residents"] = float(flagged_res[j] / len(chosen))
        row["flagged_resident_share"] = _f(share)
        row["exposure_ratio"] = _f(share / pop_share) if pop_share else None
        row["flagged_area_share"] = (
            _f(flagged_area[j] / flagged_area.sum()) if flagged_area.sum() > 0 else None)
        crime_share = row.get("crime_share")
        if "crime_share" in row:
            row["exposure_to_crime_ratio"] = _f(share / crime_share) if crime_share else None
    return base


def fairness_report(
    backtest: BacktestResult,
    method: str,
    groups: Groups,
    grouping: str,
    band: tuple[float, float] = DEFAULT_BAND,
    bands: Sequence[tuple[float, float] | None] = TRADEOFF_BANDS,
    n_boot: int = 300,
    time_limit: float = 0.5,
    tradeoff_windows: int | None = None,
) -> dict[str, Any]:
    """JSON-ready report (see module docstring) for ``method`` of ``backtest``.

    ``tradeoff_windows``: the trade-off curve and the fair option (one programme per
    window, band and coverage: the report's costly part) over at most this many windows,
    evenly spread; exposure and accuracy always use every window."""
    if backtest.predictions is None or backtest.active_cells is None:
        raise ValueError("the backtest must be run with export=True")
    if method not in backtest.predictions or ORACLE not in backtest.predictions:
        raise ValueError(f"the backtest has no predictions of {method!r} and the oracle")
    scores = backtest.predictions[method]
    truth = backtest.predictions[ORACLE]
    actives = backtest.active_cells
    counts = backtest.methods[method].gives_counts
    crime = np.zeros(groups.residents.shape[0])
    for act, obs in zip(actives, truth, strict=True):
        crime[act] += obs
    labels0 = groups.dominant(actives[0])  # by-group accuracy needs one active area
    same_cells = all(np.array_equal(a, actives[0]) for a in actives)
    report: dict[str, Any] = {
        "grouping": grouping,
        "method": method,
        "windows": len(scores),
        "groups": list(groups.names),
        "population": {
            name: row for name, row in
            exposure(groups, actives[-1], np.zeros(0, int), crime).items()
        },
        "exposure": {}, "accuracy": {}, "fair_option": {}, "tradeoff": [],
    }
    plain: dict[float, list[np.ndarray]] = {}
    for cov in sorted(set(EXPOSURE_COVERAGES) | set(TRADEOFF_COVERAGES)):
        plain[cov] = [select_cells(s, groups.residents[a], n_flagged(cov, a.size), None).chosen
                      for s, a in zip(scores, actives, strict=True)]
    for cov in EXPOSURE_COVERAGES:
        key = _pct(cov)
        report["exposure"][key] = pooled_exposure(groups, actives, plain[cov], crime)
        report["accuracy"][key] = (
            accuracy_by_group(truth, scores, labels0, cov, counts, n_boot)
            if same_cells else None
        )
    curve: list[dict[str, Any]] = []
    n = len(scores)
    some = (sorted(set(np.linspace(0, n - 1, tradeoff_windows).round().astype(int).tolist()))
            if tradeoff_windows and tradeoff_windows < n else list(range(n)))
    report["tradeoff_windows"] = len(some)
    t_scores, t_truth, t_actives = ([x[i] for i in some] for x in (scores, truth, actives))
    for b in bands:
        point: dict[str, Any] = {"band": list(b) if b else None}
        for cov in TRADEOFF_COVERAGES:
            sel = [select_cells(s, groups.residents[a], n_flagged(cov, a.size), b, time_limit)
                   for s, a in zip(t_scores, t_actives, strict=True)]
            point[f"pai_{_pct(cov)}"] = _pooled_pai([x.chosen for x in sel], t_truth, t_actives)
            ratios = _pooled_ratios(groups, t_actives, [x.chosen for x in sel])
            point[f"disparity_{_pct(cov)}"] = largest_disparity(ratios)
            point[f"ratios_{_pct(cov)}"] = dict(zip(groups.names, ratios, strict=True))
            point[f"windows_met_{_pct(cov)}"] = sum(x.met_requested for x in sel)
            point[f"score_share_{_pct(cov)}"] = float(np.mean([x.score_share for x in sel]))
            point[f"bound_gap_{_pct(cov)}"] = float(max(x.bound_gap for x in sel))
        curve.append(point)
        if b is not None and tuple(b) == tuple(band):
            report["fair_option"] = _fair_summary(point, curve[0], band)
    if not report["fair_option"]:
        raise ValueError("the agency's band must be one of the trade-off bands")
    report["tradeoff"] = curve
    return report


def _fair_summary(fair: dict[str, Any], plain: dict[str, Any], band) -> dict[str, Any]:
    out: dict[str, Any] = {"band": list(band)}
    for cov in TRADEOFF_COVERAGES:
        p = _pct(cov)
        before, after = plain[f"pai_{p}"], fair[f"pai_{p}"]
        out[p] = {
            "pai_plain": before, "pai_fair": after,
            "pai_cost": _f(1.0 - after / before) if before else None,
            "disparity_plain": plain[f"disparity_{p}"], "disparity_fair": fair[f"disparity_{p}"],
            "windows_met": fair[f"windows_met_{p}"],
        }
    return out


def _pooled_pai(chosen: Sequence[np.ndarray], truth: Sequence[np.ndarray],
                actives: Sequence[np.ndarray]) -> float | None:
    captured = sum(float(t[c].sum()) for c, t in zip(chosen, truth, strict=True))
    events = sum(float(t.sum()) for t in truth)
    area = np.mean([c.size / a.size for c, a in zip(chosen, actives, strict=True)])
    return _f(captured / events / area) if events > 0 else None


def _pooled_ratios(groups: Groups, actives: Sequence[np.ndarray],
                   chosen: Sequence[np.ndarray]) -> tuple[float | None, ...]:
    """Exposure ratios of all windows' flagged cells taken together."""
    stacked = np.concatenate([groups.residents[a] for a in actives])
    offsets = np.cumsum([0] + [a.size for a in actives[:-1]])
    positions = np.concatenate([c + o for c, o in zip(chosen, offsets, strict=True)])
    return exposure_ratios(positions, stacked)


def _pct(coverage: float) -> str:
    return f"{coverage * 100:g}%"


