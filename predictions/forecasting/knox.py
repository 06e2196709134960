"""The Knox test for near repeats: are incidents close in space also close in time?

Pairs of incidents are sorted into distance bands x time bands. A band list of edges
``(e0, e1, ..., ek)`` makes the bands ``[0, e0], (e0, e1], ..., (ek-1, ek]``: with ``e0 = 0``
the first band is "the same place" (or "the same day"). Pairs farther apart in time than the
last time edge fall in a last, open column (kept so that every pair within the largest
distance is counted; pages show the banded columns).

For each cell:
- observed: the number of unordered pairs ``i < j`` in that distance and time band;
- expected: the mean count if the times were dealt out to the places at random, which is
  exactly ``S_d * T_t / P``: ``S_d`` pairs of the distance band, ``T_t`` pairs of the time
  band (over all pairs) and ``P = n (n - 1) / 2`` pairs in all (pointpats' ``ENST``);
- the Knox ratio, observed / expected;
- a one-sided Monte Carlo p-value: the times are permuted ``permutations`` times (numpy's
  ``default_rng(seed)``) and ``p = (1 + #{permuted >= observed}) / (permutations + 1)``.

Pairs within the largest distance come from one k-d tree search (``cKDTree.query_pairs``),
then each permutation only recomputes their time differences: 99 permutations of a city's
year of burglaries take well under a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

DEFAULT_DISTANCE_BANDS: tuple[float, ...] = (0, 100, 200, 300, 400, 500)  # metres
DEFAULT_TIME_BANDS: tuple[float, ...] = (7, 14, 21, 28, 42, 56)  # days
MAX_PERMUTATIONS = 9999
MAX_CLOSE_PAIRS = 20_000_000  # about 1 GB of pair arrays and temporaries


def _edges(values: Sequence[float], what: str) -> np.ndarray:
    edges = np.asarray(values, float)
    if edges.ndim != 1 or edges.size < 1:
        raise ValueError(f"{what}: give at least one band edge")
    if not np.all(np.isfinite(edges)) or edges[0] < 0:
        raise ValueError(f"{what}: edges must be finite and not negative")
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"{what}: edges must increase")
    return edges


def pairs_within(times: np.ndarray, tau: float) -> int:
    """Number of unordered pairs whose times differ by at most `tau` (any real times)."""
    t = np.sort(np.asarray(times, float))
    ends = np.searchsorted(t, t + tau, side="right")
    return int((ends - np.arange(t.size) - 1).sum())


@dataclass
class BlockStat:
    """Pairs pooled over distance bands ``first..last`` and time bands ``0..t``: at most
    ``days`` apart, farther than ``distance_from`` (or the same place when it is None with
    ``distance`` 0) and at most ``distance`` apart."""

    distance_from: float | None
    distance: float
    days: float
    observed: int
    expected: float
    ratio: float
    p_value: float


class KnoxTest:
    """Knox test over distance x time bands with a Monte Carlo p-value per cell.

    ``fit(x, y, t)`` takes projected coordinates in metres and times in days (floats; whole
    days for dates). Attributes after fit: ``observed_``, ``expected_``, ``ratio_``,
    ``p_value_`` (shape ``(n_distance_bands, n_time_bands)``), ``n_events_``,
    ``n_pairs_`` (all unordered pairs), ``n_close_pairs_`` (within the largest distance).
    """

    def __init__(self, *, distance_bands: Sequence[float] = DEFAULT_DISTANCE_BANDS,
                 time_bands: Sequence[float] = DEFAULT_TIME_BANDS, permutations: int = 99,
                 seed: int = 0, alpha: float = 0.05, min_ratio: float = 1.2):
        self.distance_bands = distance_bands
        self.time_bands = time_bands
        self.permutations = permutations
        self.seed = seed
        self.alpha = alpha
        self.min_ratio = min_ratio

    def get_params(self) -> dict[str, object]:
        return {"distance_bands": self.distance_bands, "time_bands": self.time_bands,
                "permutations": self.permutations, "seed": self.seed, "alpha": self.alpha,
                "min_ratio": self.min_ratio}

    def fit(self, x: np.ndarray, y: np.ndarray, t: np.ndarray, *,
            progress: Callable[[int, int], object] | None = None) -> KnoxTest:
        """Count, compare and permute; `progress(done, total)` after each block of
        permutations."""
        d_edges = _edges(self.distance_bands, "distance bands")
        t_edges = _edges(self.time_bands, "time bands")
        perms = int(self.permutations)
        if not 0 <= perms <= MAX_PERMUTATIONS:
            raise ValueError(f"permutations must be between 0 and {MAX_PERMUTATIONS}")
        x, y, t = (np.asarray(a, float).ravel() for a in (x, y, t))
        if not x.size == y.size == t.size:
            raise ValueError("x, y and t must have the same length")
        if x.size < 2:
            raise ValueError("the Knox test needs at least two incidents")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(np.isfinite(t))):
            raise ValueError("coordinates and times must be finite")
        n, nd, nt = x.size, d_edges.size, t_edges.size
        self.n_events_ = n
        self.n_pairs_ = n * (n - 1) // 2

        tree = cKDTree(np.c_[x, y])
        pairs = tree.query_pairs(r=float(d_edges[-1]), output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
        dist = np.hypot(x[i] - x[j], y[i] - y[j])
        d_band = np.minimum(np.searchsorted(d_edges, dist, side="left"), nd - 1)
        self.n_close_pairs_ = int(i.size)
        if i.size > MAX_CLOSE_PAIRS:
            raise ValueError(f"{i.size:,} pairs within {d_edges[-1]:g} m: more than "
                             f"{MAX_CLOSE_PAIRS:,}; choose a shorter period or a smaller "
                             "largest distance")
        base = d_band * (nt + 1)
        size = nd * (nt + 1)

        def table(times: np.ndarray) -> np.ndarray:
            # time band nt: farther apart than the last edge
            t_band = np.searchsorted(t_edges, np.abs(times[i] - times[j]), side="left")
            return np.bincount(base + t_band, minlength=size).reshape(nd, nt + 1)

        observed = table(t)
        # expected: S_d * T_t / P with T_t counted over every pair (not only the close ones)
        s_d = np.bincount(d_band, minlength=nd).astype(float)
        within = np.array([pairs_within(t, e) for e in t_edges], float)
        t_t = np.diff(np.concatenate([[0.0], within]))
        expected = np.outer(s_d, t_t) / self.n_pairs_

        rng = np.random.default_rng(self.seed)
        permuted = np.empty((perms, nd, nt), np.int64)
        step = max(1, perms // 20)
        for k in range(perms):
            permuted[k] = table(rng.permutation(t))[:, :nt]
            if progress is not None and ((k + 1) % step == 0 or k + 1 == perms):
                progress(k + 1, perms)
        self.observed_ = observed[:, :nt]
        self.observed_beyond_ = observed[:, nt]
        self.expected_ = expected
        with np.errstate(divide="ignore", invalid="ignore"):
            self.ratio_ = np.where(expected > 0, self.observed_ / expected, np.nan)
        self.permuted_ = permuted
        self.p_value_ = ((1 + (permuted >= self.observed_).sum(axis=0)) / (perms + 1)
                         if perms else np.full((nd, nt), np.nan))
        self.distance_edges_, self.time_edges_ = d_edges, t_edges
        return self

    # the near-repeat zone ------------------------------------------------------------------
    def block(self, first: int, last: int, t: int) -> BlockStat:
        """Pairs pooled over distance bands ``first..last`` and time bands ``0..t``, with the
        Monte Carlo p-value of the pooled count."""
        obs, exp, p = self._pooled(first, last, 0, t)
        return BlockStat(
            distance_from=float(self.distance_edges_[first - 1]) if first else None,
            distance=float(self.distance_edges_[last]), days=float(self.time_edges_[t]),
            observed=obs, expected=exp, ratio=obs / exp if exp > 0 else float("nan"),
            p_value=p)

    def _pooled(self, d0: int, d1: int, t0: int, t1: int) -> tuple[int, float, float]:
        obs = int(self.observed_[d0:d1 + 1, t0:t1 + 1].sum())
        exp = float(self.expected_[d0:d1 + 1, t0:t1 + 1].sum())
        perm = self.permuted_[:, d0:d1 + 1, t0:t1 + 1].sum(axis=(1, 2))
        p = float((1 + (perm >= obs).sum()) / (perm.size + 1)) if perm.size else float("nan")
        return obs, exp, p

    def _raised(self, d0: int, d1: int, t0: int, t1: int) -> bool:
        """More pairs than expected by at least ``min_ratio``, at ``p <= alpha``."""
        obs, exp, p = self._pooled(d0, d1, t0, t1)
        return exp > 0 and obs >= self.min_ratio * exp and p <= self.alpha

    def zone(self, first: int, *, outwards: bool = True) -> BlockStat | None:
        """How far and how long the risk stays raised, from distance band `first`; None
        when its soonest cell is not raised.

        The reach grows from the cell (`first`, soonest time band): band by band outwards
        (not with ``outwards=False``) while the next band's soonest cell is raised (at
        least ``min_ratio`` times the expected pairs, ``p <= alpha``), then time band by
        time band while the next column over those distance bands, pooled, is raised. The
        zone is the pooled block."""
        if not self.permutations or first >= self.observed_.shape[0]:
            return None
        nd, nt = self.observed_.shape
        if not self._raised(first, first, 0, 0):
            return None
        d = first
        while outwards and d + 1 < nd and self._raised(d + 1, d + 1, 0, 0):
            d += 1
        t = 0
        while t + 1 < nt and self._raised(first, d, t + 1, t + 1):
            t += 1
        return self.block(first, d, t)

    def zones(self) -> dict[str, BlockStat | None]:
        """``same_place`` (when the first distance edge is 0: repeats at the same place) and
        ``nearby`` (near repeats: from the next band on)."""
        same = self.distance_edges_[0] == 0
        return {"same_place": self.zone(0, outwards=False) if same else None,
                "nearby": self.zone(1 if same else 0)}
