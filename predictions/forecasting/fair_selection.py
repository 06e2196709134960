"""Fairness-aware choice of patrol cells: most predicted crime with every group in a band.

Choose exactly ``k`` active cells ``x`` to maximise the summed score subject to, for every
group g with residents, ``low <= exposure ratio(g) <= high`` where::

    exposure ratio(g) = (sum_c x_c r_cg / R_g) / (sum_c x_c r_c / R)

(``r_cg`` residents of group g in cell c, ``R_g`` all of g's residents in the active area,
``r_c`` and ``R`` the same over all groups). Multiplying out the denominator makes both bounds
linear, so the choice is a small mixed-integer programme (binary ``x``). Its linear relaxation
(HiGHS through :func:`scipy.optimize.linprog`) has at most as many fractional cells as there
are constraints; completing the whole cells with the best feasible subset of the fractional
ones gives a choice within ``bound_gap`` of the relaxation's optimum (an upper bound of the
true one), usually far below 0.1 %. ``exact=True``, or a failed completion, solves the
programme itself by branch and bound (:func:`scipy.optimize.milp`). When no choice meets the
band (e.g. a group lives almost only in cells with no predicted crime), the band is widened
step by step and the result says which band was met.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .evaluation import top_cells
from .fairness import largest_disparity

DEFAULT_BAND = (0.8, 1.25)
WIDENING = (1.0, 1.25, 1.5, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class Selection:
    """Positions of the chosen cells and what the choice achieved."""

    chosen: np.ndarray  # positions into the scores array, best score first
    ratios: tuple[float | None, ...]  # exposure ratio per group (None: group has no residents)
    band: tuple[float, float] | None  # the band met (None: unconstrained)
    requested_band: tuple[float, float] | None
    score_share: float  # summed score / summed score of the unconstrained top k
    bound_gap: float = 0.0  # 1 - score / upper bound of the best score within the band

    @property
    def disparity(self) -> float | None:
        return largest_disparity(self.ratios)

    @property
    def met_requested(self) -> bool:
        return self.requested_band is None or self.band == self.requested_band


def exposure_ratios(chosen: np.ndarray, residents: np.ndarray) -> tuple[float | None, ...]:
    """Exposure ratio per group of the cells at positions ``chosen`` (rows of ``residents``)."""
    residents = np.asarray(residents, float)
    totals = residents.sum(axis=0)
    flagged = residents[chosen].sum(axis=0)
    if totals.sum() <= 0 or flagged.sum() <= 0:
        return tuple(None for _ in totals)
    share_flagged = flagged / flagged.sum()
    share_pop = totals / totals.sum()
    return tuple(float(f / p) if p > 0 else None for f, p in zip(share_flagged, share_pop,
                                                                   strict=True))


def select_cells(
    scores: np.ndarray,
    residents: np.ndarray,
    k: int,
    band: tuple[float, float] | None = DEFAULT_BAND,
    time_limit: float = 20.0,
    exact: bool = False,
) -> Selection:
    """The ``k`` cells with the most score whose group exposure stays within ``band``.

    ``scores`` (n,) and ``residents`` (n, n_groups) are over the same active cells.
    ``band=None`` gives the plain top ``k`` (ties broken as in evaluation).
    """
    scores = np.nan_to_num(np.asarray(scores, float), nan=0.0, neginf=0.0)
    residents = np.nan_to_num(np.asarray(residents, float)).clip(min=0)
    n = scores.size
    if residents.shape[0] != n:
        raise ValueError("residents must have one row per score")
    if not 1 <= k <= n:
        raise ValueError(f"k must be within 1..{n}")
    top = top_cells(scores, k)
    best = float(scores[top].sum())
    if band is None:
        return Selection(top, exposure_ratios(top, residents), None, None, 1.0)
    low, high = float(band[0]), float(band[1])
    if not 0 < low <= 1 <= high:
        raise ValueError("the band must satisfy 0 < low <= 1 <= high")
    ratios = exposure_ratios(top, residents)
    if _within(ratios, (low, high)):
        return Selection(top, ratios, (low, high), (low, high), 1.0)
    pool = candidate_pool(scores, residents, k)
    for factor in WIDENING:
        wide = (low / factor, high * factor)
        found = _solve(scores, residents, k, wide, time_limit, pool, exact)
        if found is None and pool.size < n and factor == WIDENING[0]:
            found = _solve(scores, residents, k, wide, time_limit, np.arange(n), exact)
        if found is not None:
            chosen, gap = found
            share = float(scores[chosen].sum()) / best if best > 0 else 1.0
            return Selection(chosen, exposure_ratios(chosen, residents), wide, (low, high),
                             share, gap)
    return Selection(top, ratios, None, (low, high), 1.0)


def candidate_pool(scores: np.ndarray, residents: np.ndarray, k: int, factor: int = 3
                   ) -> np.ndarray:
    """Cells the programme chooses from: the top ``factor * k`` overall and, for every group,
    the top ``factor * k`` of the cells where that group is the largest. A cheap restriction
    (an exchange only ever pays with high-score cells); the whole area is tried when it fails.
    """
    m = min(factor * k, scores.size)
    parts = [top_cells(scores, m)]
    dominant = np.argmax(residents, axis=1)
    has_res = residents.sum(axis=1) > 0
    for g in range(residents.shape[1]):
        cells = np.flatnonzero(has_res & (dominant == g))
        parts.append(cells[top_cells(scores[cells], min(m, cells.size))])
    return np.unique(np.concatenate(parts))


def _within(ratios: tuple[float | None, ...], band: tuple[float, float]) -> bool:
    tol = 1e-9
    return all(r is None or band[0] - tol <= r <= band[1] + tol for r in ratios)


def _solve(
    scores: np.ndarray, residents: np.ndarray, k: int, band: tuple[float, float],
    time_limit: float, pool: np.ndarray, exact: bool = False,
) -> tuple[np.ndarray, float] | None:
    """Chosen cells (best score first) and the gap to the bound, or None if infeasible."""
    totals = residents.sum(axis=0)  # over the whole active area: the ratios' denominators
    full_scores, full_residents = scores, residents
    scores, residents = scores[pool], residents[pool]
    a, lo, hi = _constraints(residents, totals, k, band)
    scale = max(float(np.abs(scores).max()), 1e-12)
    fin_hi, fin_lo = np.isfinite(hi), np.isfinite(lo)
    relaxed = linprog(-scores / scale, A_ub=np.vstack([a[fin_hi], -a[fin_lo]]),
                      b_ub=np.concatenate([hi[fin_hi], -lo[fin_lo]]), bounds=(0, 1),
                      method="highs")
    if relaxed.status == 2:  # the relaxation is infeasible, so is the programme
        return None
    bound = -relaxed.fun * scale if relaxed.status == 0 else np.inf
    picked = None if exact or relaxed.x is None else _complete(relaxed.x, scores, a, lo, hi, k)
    if picked is not None:
        picked = _improve(picked, scores, a, lo, hi)
        if not _within(exposure_ratios(pool[picked], full_residents), band):
            picked = None
    good_enough = picked is not None and scores[picked].sum() >= (1 - GAP_GOAL) * bound
    if not good_enough:  # branch and bound, keeping the completion if it does better
        result = _branch_and_bound(scores / scale, a, lo, hi, time_limit, 1e-4)
        if result.x is None and picked is None and result.status == 1:  # time limit, none
            result = _branch_and_bound(scores / scale, a, lo, hi, 10 * time_limit, 1e-2)
        if result.x is not None:
            solved = _improve(np.flatnonzero(result.x > 0.5), scores, a, lo, hi)
            if picked is None or scores[solved].sum() > scores[picked].sum():
                picked = solved
        if picked is None:
            return None
    chosen = pool[picked]
    if chosen.size != k or not _within(exposure_ratios(chosen, full_residents), band):
        return None
    chosen = chosen[np.lexsort((chosen, -full_scores[chosen]))]
    value = float(full_scores[chosen].sum())
    gap = max(0.0, 1.0 - value / bound) if np.isfinite(bound) and bound > 0 else 0.0
    return chosen, gap


def _branch_and_bound(scores: np.ndarray, a: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      time_limit: float, gap: float):
    """``scipy.optimize.milp`` maximising ``scores`` over binary cells with ``lo <= A x <= hi``."""
    return milp(c=-scores, constraints=LinearConstraint(a, lo, hi),
                integrality=np.ones(scores.size), bounds=Bounds(0, 1),
                options={"time_limit": time_limit, "mip_rel_gap": gap, "disp": False})


def _constraints(residents: np.ndarray, totals: np.ndarray, k: int, band: tuple[float, float]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``lo <= A x <= hi``: exactly k cells, every group within the band, >= 1 resident."""
    n = residents.shape[0]
    pop = residents.sum(axis=1)
    total = totals.sum()
    rows, lower, upper = [np.ones(n)], [float(k)], [float(k)]
    for g in np.flatnonzero(totals > 0):
        share = residents[:, g] / totals[g] * total  # scaled by R: residents-sized numbers
        rows += [share - band[0] * pop, share - band[1] * pop]
        lower += [0.0, -np.inf]
        upper += [np.inf, 0.0]
    # at least one resident flagged, or every ratio would be undefined (trivially "fair")
    rows.append(pop)
    lower.append(min(1.0, float(pop.max())))
    upper.append(np.inf)
    return np.vstack(rows), np.array(lower), np.array(upper)


MAX_COMBINATIONS = 20_000
GAP_GOAL = 0.02  # the completion is kept when within 2 % of the bound, else branch and bound


def _improve(picked: np.ndarray, scores: np.ndarray, a: np.ndarray, lo: np.ndarray,
             hi: np.ndarray, rounds: int = 50) -> np.ndarray:
    """Best feasible single swaps (one chosen cell out, one other in) while they gain score."""
    picked = picked.copy()
    k = picked.size
    for _ in range(rounds):
        outside = np.setdiff1d(np.arange(scores.size), picked)
        outside = outside[top_cells(scores[outside], min(outside.size, 3 * k + 10))]
        gain = scores[outside][None, :] - scores[picked][:, None]  # (k, m)
        if not (gain > 1e-12).any():
            break
        base = a[:, picked].sum(axis=1)
        totals = (base[:, None, None] - a[:, picked][:, :, None] + a[:, outside][:, None, :])
        ok = np.all((totals >= lo[:, None, None] - 1e-6) & (totals <= hi[:, None, None] + 1e-6),
                    axis=0) & (gain > 1e-12)
        if not ok.any():
            break
        i, j = np.unravel_index(np.argmax(np.where(ok, gain, -np.inf)), gain.shape)
        picked[i] = outside[j]
    return picked


def _complete(x: np.ndarray, scores: np.ndarray, a: np.ndarray, lo: np.ndarray,
              hi: np.ndarray, k: int) -> np.ndarray | None:
    """Whole cells of the relaxed solution plus the best feasible subset of the fractional
    (and next-best) cells; None when no subset of them is feasible."""
    whole = np.flatnonzero(x > 1 - 1e-7)
    if whole.size > k:
        return None
    need = k - whole.size
    if need == 0:
        return whole if _feasible(a[:, whole].sum(axis=1), lo, hi) else None
    frac = np.flatnonzero((x > 1e-7) & (x <= 1 - 1e-7))
    rest = np.setdiff1d(np.arange(x.size), np.concatenate([whole, frac]))
    extra = rest[top_cells(scores[rest], min(rest.size, max(need - frac.size, 0) + 4))]
    cand = np.concatenate([frac, extra])
    if cand.size < need or math.comb(cand.size, need) > MAX_COMBINATIONS:
        # too many subsets: the largest relaxed values, then swaps towards feasibility
        order = cand[np.lexsort((-scores[cand], -x[cand]))]
        return _repair(np.concatenate([whole, order[:need]]), scores, a, lo, hi)
    base = a[:, whole].sum(axis=1)
    combos = np.array(list(itertools.combinations(range(cand.size), need)))
    totals = base[:, None] + a[:, cand] @ _onehot(combos, cand.size).T
    ok = np.all((totals >= lo[:, None] - 1e-6) & (totals <= hi[:, None] + 1e-6), axis=0)
    if not ok.any():
        order = cand[np.lexsort((-scores[cand], -x[cand]))]
        return _repair(np.concatenate([whole, order[:need]]), scores, a, lo, hi)
    value = _onehot(combos, cand.size) @ scores[cand]
    best = np.flatnonzero(ok)[np.argmax(value[ok])]
    return np.concatenate([whole, cand[combos[best]]])


def _violation(totals: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Summed constraint violation of row totals (rows first; any trailing shape)."""
    lo = lo.reshape(lo.shape + (1,) * (totals.ndim - 1))
    hi = hi.reshape(hi.shape + (1,) * (totals.ndim - 1))
    under = np.where(np.isfinite(lo), np.maximum(lo - totals, 0.0), 0.0)
    over = np.where(np.isfinite(hi), np.maximum(totals - hi, 0.0), 0.0)
    return (under + over).sum(axis=0)


def _repair(picked: np.ndarray, scores: np.ndarray, a: np.ndarray, lo: np.ndarray,
            hi: np.ndarray, rounds: int = 100) -> np.ndarray | None:
    """Single swaps that most reduce the constraint violation (then keep the most score)
    until the choice is feasible; None when stuck."""
    picked = picked.copy()
    for _ in range(rounds):
        base = a[:, picked].sum(axis=1)
        now = float(_violation(base, lo, hi))
        if now <= 1e-6:
            return picked
        outside = _levers(np.setdiff1d(np.arange(scores.size), picked), scores, a)
        totals = base[:, None, None] - a[:, picked][:, :, None] + a[:, outside][:, None, :]
        after = _violation(totals, lo, hi)  # (k, m)
        gain = scores[outside][None, :] - scores[picked][:, None]
        best = after.min()
        if best >= now - 1e-9:
            return None
        ties = after <= best + 1e-9
        i, j = np.unravel_index(np.argmax(np.where(ties, gain, -np.inf)), after.shape)
        picked[i] = outside[j]
    return picked if _feasible(a[:, picked].sum(axis=1), lo, hi) else None


def _levers(cells: np.ndarray, scores: np.ndarray, a: np.ndarray, per_row: int = 60,
            by_score: int = 300) -> np.ndarray:
    """The cells most able to move each constraint row either way, and the best-scored."""
    parts = [cells[top_cells(scores[cells], min(by_score, cells.size))]]
    m = min(per_row, cells.size)
    for row in a[1:]:  # row 0 counts cells: every swap keeps it
        parts += [cells[top_cells(row[cells], m)], cells[top_cells(-row[cells], m)]]
    return np.unique(np.concatenate(parts))


def _onehot(combos: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((combos.shape[0], n))
    np.put_along_axis(out, combos, 1.0, axis=1)
    return out


def _feasible(totals: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    return bool(np.all((totals >= lo - 1e-6) & (totals <= hi + 1e-6)))
