"""Feedback loops of deployed hotspot forecasts (Ensign et al. 2018, "Runaway feedback loops
in predictive policing").

A simulated deployment over ``n`` cells with known true crime rates. Every round (``round_days``
days, one day by default):

1. the model scores every cell from its training data; the ``k`` highest-scoring cells are
   flagged (ties: lower position first) and patrolled: presence 1 there, 0 elsewhere;
2. crimes happen, ``C_i ~ Poisson(rate_i * round_days)``, whatever the patrols do;
3. the public reports each crime with probability ``report_prob`` everywhere; patrols find
   each unreported crime with probability ``discovery_prob * presence_i``, so only in
   patrolled cells;
4. the round's incidents join the training data as the correction says, and the model is
   retrained on it before the next round.

**Model** (``model="decay"``, the default): a cell's score is the exponentially decayed count
of its training incidents, ``s_i = sum_u 0.5 ** (age_u / half_life) * x_i(u)`` over past rounds
``u`` (age 0 for the last round), i.e. ``s <- 0.5 ** (1 / half_life) * s + x`` after every
round. ``model="window"`` counts the last ``window`` rounds alone; any callable
``model(training) -> scores`` may be given instead, ``training`` being the ``(rounds so far,
n)`` array of training increments (history first), returning ``n`` non-negative scores.

**Corrections** (what ``x_i``, a round's training increment of cell ``i``, is):

- ``"none"``: every recorded incident, ``x = reported + found``;
- ``"reported_only"``: incidents reported by the public alone, ``x = reported``;
- ``"downweight"``: with ``weight=None``, inverse-presence weighting after Ensign et al.: an
  incident recorded in a cell during a round counts ``report_prob / q`` where ``q = report_prob +
  (1 - report_prob) * discovery_prob * presence`` is the chance that a crime there and then is
  recorded. Incidents of unpatrolled cells count 1; all incidents of a patrolled cell count
  less, so that the expected increment is ``report_prob * rate * round_days`` in every cell,
  patrolled or not (Horvitz-Thompson). With a number ``weight`` in ``[0, 1]``, reported
  incidents count 1 and patrol-found ones ``weight`` (``0`` is ``reported_only``).

Before deployment the model has a history: ``history`` (an ``(m, n)`` array of past training
increments), or else ``warmup`` rounds drawn without patrols (reported incidents only).

**Metrics**, after round ``t``, with ``F`` the cells flagged in a round and ``T`` the ``k``
cells of highest true rate:

- ``inflation``: of the incidents the model has learnt from since deployment (its training
  increments), the share recorded in cells while they were flagged, over the true share of
  crime in those cells at those times. Each round's flags are set before its incidents, so this
  is free of selection bias: 1 when the flagged cells feed the model their fair share, above
  1 when patrols inflate it (the runaway);
- ``belief_inflation``: the model's share of crime in the cells it flags (scores of ``F`` over
  all scores) over their true share, this round; besides feedback it carries the selection
  bias of noisy scores (the top of a noisy ranking is overrated), so it exceeds 1 on sparse data
  even without feedback;
- ``recorded_inflation``: as ``inflation``, for the raw records (reported + found, as the
  agency stores them whatever the model learns from);
- ``concentration``: the share of all patrol-rounds so far spent in the ``k`` most-patrolled
  cells (1: the same ``k`` cells every round);
- ``topk_recall``: the share of the ``T`` cells that are flagged this round;
- ``true_capture``: the true crime rate of ``F`` over that of ``T``, this round;
- ``lock_in``: the share of this round's flagged cells that were flagged in the first round.

Common random numbers: all scenarios run in the same loop over rounds and share each round's
crimes, reports and the discoveries a patrol would make in every cell, drawn once from one
generator (deterministic per seed). Nothing loops over cells or events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .counts import cell_counts
from .evaluation import n_flagged, top_cells
from .events import DAY, Events
from .grid import Grid

CORRECTIONS: tuple[str, ...] = ("none", "reported_only", "downweight")
MODELS: tuple[str, ...] = ("decay", "window")
METRICS: tuple[str, ...] = (
    "inflation",
    "belief_inflation",
    "recorded_inflation",
    "concentration",
    "topk_recall",
    "true_capture",
    "lock_in",
)

ModelFn = Callable[[np.ndarray], np.ndarray]


# truth sources --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Truth:
    """True mean crimes per day of each cell considered, and where they come from."""

    rates: np.ndarray  # (n,) crimes per day
    cells: np.ndarray  # (n,) flat grid index of each position
    source: str
    note: str
    grid: Grid | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "note": self.note,
            "n_cells": int(self.rates.size),
            "crimes_per_day": float(self.rates.sum()),
        }


def synthetic_truth(seed: int = 0, cell_size: float = 150.0) -> Truth:
    """The synthetic city's long-run crime rate per cell: background / (1 - theta).

    The city of ``simulate_city(seed=seed)`` (same hotspots); offspring happen at their
    parent's place, so a cell's long-run rate is its background rate times ``1 / (1 - theta)``.
    """
    from .synthetic import city_grid, simulate_city

    city = simulate_city(seed=seed, n_days=1, burn_in_days=0)
    grid = city_grid(city, cell_size)
    active = grid.boundary_mask()
    rates = city.background_per_cell(grid)[active] / (1.0 - city.theta)
    note = (
        f"synthetic city (seed {seed}): true long-run rates of {int(active.sum())} cells of "
        f"{grid.cell_size:g} m (background / (1 - theta), theta = {city.theta:g})"
    )
    return Truth(rates, np.flatnonzero(active), f"synthetic city (seed {seed})", note, grid)


def recorded_truth(events: Events, grid: Grid, label: str = "recorded incidents") -> Truth:
    """Per-cell long-run daily rate of recorded incidents over the active cells of ``grid``.

    The recorded history stands in for the truth: whatever patrol bias produced it is taken
    as real crime.
    """
    if len(events) == 0:
        raise ValueError("no incidents to estimate rates from")
    active = grid.active_mask(events)
    counts = cell_counts(grid, events)[active]
    days = events.times.astype("datetime64[D]")
    span = int((days.max() - days.min()) // DAY) + 1
    inside = int(counts.sum())
    if inside == 0:
        raise ValueError("no incidents inside the area")
    note = (
        f"{label}: {inside} incidents over {span} days ({days.min()} to {days.max()}) on "
        f"{int(active.sum())} cells of {grid.cell_size:g} m; the recorded history stands in "
        "for the truth (it already carries any bias of past patrols)"
    )
    return Truth(counts / span, np.flatnonzero(active), label, note, grid)


# the simulation ---------------------------------------------------------------------------------
@dataclass
class FeedbackRun:
    """One scenario: flagged cells and metrics per round."""

    correction: str
    flagged: np.ndarray  # (rounds, k) positions, in flag order
    metrics: dict[str, np.ndarray]  # each (rounds,)

    def to_dict(self, include_flagged: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"correction": self.correction}
        out |= {name: _floats(v) for name, v in self.metrics.items()}
        if include_flagged:
            out["flagged"] = self.flagged.tolist()
        return out


@dataclass
class FeedbackResult:
    """All scenarios on one truth with one seed."""

    config: dict[str, Any]
    rates: np.ndarray
    k: int
    runs: dict[str, FeedbackRun]
    truth: dict[str, Any] = field(default_factory=dict)

    @property
    def rounds(self) -> int:
        return int(self.config["rounds"])

    def milestones(self) -> list[int]:
        """Round numbers (1-based) worth a line in a table: first, quarters, last."""
        r = self.rounds
        return sorted({1, max(r // 4, 1), max(r // 2, 1), max(3 * r // 4, 1), r})

    def at(self, correction: str, metric: str, round_number: int) -> float:
        """A metric after round ``round_number`` (1-based)."""
        return float(self.runs[correction].metrics[metric][round_number - 1])

    def to_dict(self, include_flagged: bool = True) -> dict[str, Any]:
        top = top_cells(self.rates, self.k)
        return {
            "config": dict(self.config),
            "truth": dict(self.truth)
            | {
                "top_k": top.tolist(),
                "top_k_share": float(self.rates[top].sum() / self.rates.sum()),
            },
            "k": self.k,
            "n_cells": int(self.rates.size),
            "milestones": self.milestones(),
            "scenarios": {name: run.to_dict(include_flagged) for name, run in self.runs.items()},
        }


def simulate_feedback(
    rates: np.ndarray | Truth,
    *,
    k: int | None = None,
    coverage: float | None = None,
    rounds: int = 365,
    round_days: float = 1.0,
    report_prob: float = 0.5,
    discovery_prob: float = 0.5,
    model: str | ModelFn = "decay",
    half_life: float = 60.0,
    window: int = 90,
    corrections: Sequence[str] = CORRECTIONS,
    weight: float | None = None,
    history: np.ndarray | None = None,
    warmup: int = 28,
    seed: int | np.random.Generator | np.random.SeedSequence | None = 0,
) -> FeedbackResult:
    """Run the deployment loop for every correction on the same truth and random numbers.

    ``rates``: true mean crimes per day of each cell (or a :class:`Truth`); ``k`` cells are
    patrolled per round (or ``coverage``, a share of the cells in (0, 1), rounded as the
    backtests do). See the module docstring for the model, the corrections and the metrics.
    """
    truth = rates if isinstance(rates, Truth) else None
    lam = _check_rates(truth.rates if truth is not None else rates)
    n = lam.size
    k = _check_k(k, coverage, n)
    rounds = _check_int(rounds, "rounds", 1)
    warmup = _check_int(warmup, "warmup", 0)
    round_days = _check_positive(round_days, "round_days")
    report_prob = _check_prob(report_prob, "report_prob", open_low=True)
    discovery_prob = _check_prob(discovery_prob, "discovery_prob")
    corrections = _check_corrections(corrections)
    if weight is not None:
        weight = _check_prob(weight, "weight")
    if callable(model):
        model_name = getattr(model, "__name__", type(model).__name__)
    elif model in MODELS:
        model_name = model
    else:
        raise ValueError(f"model must be one of {', '.join(MODELS)} or a callable, got {model!r}")
    if model == "decay":
        half_life = _check_positive(half_life, "half_life")
    if model == "window":
        window = _check_int(window, "window", 1)

    rng = np.random.default_rng(seed)
    mean = lam * round_days
    if history is None:
        history = np.empty((warmup, n))
        for t in range(warmup):  # no patrols yet: every correction records the reports alone
            history[t] = rng.binomial(rng.poisson(mean), report_prob)
    else:
        history = _check_history(history, n)

    keep_rows = callable(model) or model == "window"
    gamma = 0.5 ** (1.0 / half_life) if model == "decay" else 1.0
    states = {}
    for name in corrections:
        st: dict[str, Any] = {}
        if keep_rows:
            st["rows"] = np.zeros((history.shape[0] + rounds, n))
            st["rows"][: history.shape[0]] = history
            st["m"] = history.shape[0]
        else:
            ages = np.arange(history.shape[0])[::-1]
            st["s"] = (gamma**ages) @ history if history.size else np.zeros(n)
        st["patrols"] = np.zeros(n)
        st["cum"] = np.zeros(6)  # training in F, training, recorded in F, recorded, true in F, true
        st["flagged"] = np.empty((rounds, k), np.int64)
        st["metrics"] = {m: np.empty(rounds) for m in METRICS}
        states[name] = st

    top = top_cells(lam, k)
    in_top = np.zeros(n, bool)
    in_top[top] = True
    best = lam[top].sum()
    total = lam.sum()
    found_factor = (1.0 - report_prob) * discovery_prob

    for t in range(rounds):
        crimes = rng.poisson(mean)
        reported = rng.binomial(crimes, report_prob)
        findable = rng.binomial(crimes - reported, discovery_prob)  # found where patrolled
        for name, st in states.items():
            scores = _scores(model, st, window, n)
            flagged = top_cells(scores, k)
            presence = np.zeros(n)
            presence[flagged] = 1.0
            found = np.where(presence > 0, findable, 0)
            recorded = reported + found
            x = _increment(name, reported, found, presence, report_prob, found_factor, weight)
            if keep_rows:
                st["rows"][st["m"]] = x
                st["m"] += 1
            else:
                st["s"] = gamma * st["s"] + x
            st["patrols"] += presence
            true_f = lam[flagged].sum()
            c = st["cum"]
            c += (x[flagged].sum(), x.sum(), recorded[flagged].sum(), recorded.sum(), true_f, total)
            true_share = c[4] / c[5]
            m = st["metrics"]
            m["inflation"][t] = c[0] / c[1] / true_share if c[1] > 0 else np.nan
            m["recorded_inflation"][t] = c[2] / c[3] / true_share if c[3] > 0 else np.nan
            s_total = scores.sum()
            m["belief_inflation"][t] = (
                scores[flagged].sum() / s_total / (true_f / total) if s_total > 0 else np.nan
            )
            m["concentration"][t] = np.partition(st["patrols"], n - k)[n - k :].sum() / (
                k * (t + 1)
            )
            m["topk_recall"][t] = in_top[flagged].sum() / k
            m["true_capture"][t] = true_f / best if best > 0 else np.nan
            st["flagged"][t] = flagged
            m["lock_in"][t] = np.isin(flagged, st["flagged"][0]).sum() / k

    config = {
        "rounds": rounds,
        "round_days": round_days,
        "k": k,
        "coverage": k / n,
        "report_prob": report_prob,
        "discovery_prob": discovery_prob,
        "model": model_name,
        "half_life": half_life if model == "decay" else None,
        "window": window if model == "window" else None,
        "weight": weight,
        "downweight": "inverse_presence" if weight is None else f"found x {weight:g}",
        "history_rounds": int(history.shape[0]),
        "seed": seed if isinstance(seed, int | None) else repr(seed),
        "corrections": list(corrections),
    }
    runs = {name: FeedbackRun(name, st["flagged"], st["metrics"]) for name, st in states.items()}
    about = {} if truth is None else truth.to_dict() | {"cells": truth.cells.tolist()}
    return FeedbackResult(config, lam, k, runs, about)


def _scores(model: str | ModelFn, st: dict[str, Any], window: int, n: int):
    if model == "decay":
        return st["s"].copy()
    rows = st["rows"][: st["m"]]
    if model == "window":
        return rows[-window:].sum(axis=0)
    assert callable(model)  # the named models are handled above
    scores = np.asarray(model(rows.copy()), float)
    if scores.shape != (n,) or not np.all(np.isfinite(scores)) or (scores < 0).any():
        raise ValueError(f"the model must return {n} finite non-negative scores")
    return scores


def _increment(
    correction: str,
    reported: np.ndarray,
    found: np.ndarray,
    presence: np.ndarray,
    report_prob: float,
    found_factor: float,
    weight: float | None,
) -> np.ndarray:
    if correction == "none":
        return (reported + found).astype(float)
    if correction == "reported_only":
        return reported.astype(float)
    if weight is None:  # inverse presence: divide by the chance of being recorded
        return (reported + found) * (report_prob / (report_prob + found_factor * presence))
    return reported + weight * found


# validation -------------------------------------------------------------------------------------
def _check_rates(rates: Any) -> np.ndarray:
    lam = np.asarray(rates, float)
    if lam.ndim != 1 or lam.size < 2:
        raise ValueError("rates must be a 1-D array over at least 2 cells")
    if not np.all(np.isfinite(lam)) or (lam < 0).any():
        raise ValueError("rates must be finite and non-negative")
    if lam.sum() <= 0:
        raise ValueError("rates are all zero: there is no crime to simulate")
    return lam


def _check_k(k: int | None, coverage: float | None, n: int) -> int:
    if (k is None) == (coverage is None):
        raise ValueError("give exactly one of k and coverage")
    if coverage is not None:
        cov = _number(coverage, "coverage")
        if not np.isfinite(cov) or not 0.0 < cov < 1.0:
            raise ValueError(f"coverage must be within (0, 1), got {coverage!r}")
        k = n_flagged(cov, n)
    k = _check_int(k, "k", 1)
    if k >= n:
        raise ValueError(f"k must be below the number of cells ({n}), got {k}")
    return k


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _check_positive(value: Any, name: str) -> float:
    v = _number(value, name)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def _check_prob(value: Any, name: str, open_low: bool = False) -> float:
    v = _number(value, name)
    low_ok = v > 0 if open_low else v >= 0
    if not np.isfinite(v) or not low_ok or v > 1:
        span = "(0, 1]" if open_low else "[0, 1]"
        raise ValueError(f"{name} must be within {span}, got {value!r}")
    return v


def _check_corrections(corrections: Sequence[str]) -> tuple[str, ...]:
    names = (corrections,) if isinstance(corrections, str) else tuple(corrections)
    unknown = [c for c in names if c not in CORRECTIONS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(
            f"corrections must be distinct names among {', '.join(CORRECTIONS)}, got {names!r}"
        )
    return names


def _check_history(history: Any, n: int) -> np.ndarray:
    h = np.asarray(history, float)
    if h.ndim == 1:
        h = h[None, :]
    if h.ndim != 2 or h.shape[1] != n:
        raise ValueError(f"history must be an (m, {n}) array of past training increments")
    if not np.all(np.isfinite(h)) or (h < 0).any():
        raise ValueError("history must be finite and non-negative")
    return h


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 6) for v in values]
