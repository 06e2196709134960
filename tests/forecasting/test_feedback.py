"""Feedback-loop simulation: the runaway of Ensign et al. (2018) without correction, its absence
with the corrections, determinism and input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from predictions.forecasting import city_grid
from predictions.forecasting.counts import cell_counts
from predictions.forecasting.feedback import (
    CORRECTIONS,
    METRICS,
    recorded_truth,
    simulate_feedback,
    synthetic_truth,
)

# Ensign's two regions: ten cells of group A (0-9) and ten of group B (10-19); B truly has 20 %
# more crime, but the history before deployment happens to favour A a little.
RATES = np.r_[np.full(10, 10.0), np.full(10, 12.0)]
HISTORY = np.r_[np.full(10, 320.0), np.full(10, 300.0)]
GROUP_A = np.arange(10)
TWO_REGIONS = dict(
    k=10, rounds=200, report_prob=0.3, discovery_prob=0.6, half_life=50, history=HISTORY, seed=0
)
# With report 0.3 and discovery 0.6 a patrolled cell records 0.3 + 0.7 * 0.6 = 0.72 of its
# crimes and an unpatrolled one 0.3: 2.4 times as many. A's flagged cells then feed the model
# 10 * 0.72 = 7.2 per round against 12 * 0.3 = 3.6 for B: A keeps its flags for good.
A_SHARE = 100 / 220  # A's true share of crime
RUNAWAY = 2.4 / (1 + 1.4 * A_SHARE)  # A's share of the training data / its true share


@pytest.fixture(scope="module")
def two_regions():
    return simulate_feedback(RATES, **TWO_REGIONS)


def test_without_correction_patrols_lock_onto_the_initially_flagged_lower_crime_cells(
    two_regions,
):
    run = two_regions.runs["none"]
    assert np.array_equal(np.sort(run.flagged, axis=1), np.tile(GROUP_A, (200, 1)))
    assert (run.metrics["topk_recall"] == 0).all()  # B, the truly higher group, never flagged
    assert (run.metrics["lock_in"] == 1).all()
    assert run.metrics["concentration"][-1] == 1.0
    assert run.metrics["true_capture"][-1] == pytest.approx(100 / 120)


def test_without_correction_the_inflation_is_clearly_above_one_and_the_belief_grows(two_regions):
    m = two_regions.runs["none"].metrics
    assert m["inflation"][-1] == pytest.approx(RUNAWAY, rel=0.03)
    assert m["inflation"][-50:].min() > 1.4
    # the model's own view of A's share starts near the history's (slightly above the truth)
    # and climbs towards the runaway level as patrol-found incidents pile up
    belief = m["belief_inflation"]
    assert belief[0] == pytest.approx(3200 / 6200 / A_SHARE)
    assert belief[-1] > belief[0] + 0.25
    assert belief[-1] > belief[99] > belief[19] > belief[0]
    # the records themselves are exactly the training data here
    assert np.array_equal(m["recorded_inflation"], m["inflation"])


@pytest.mark.parametrize("correction", ["reported_only", "downweight"])
def test_with_correction_there_is_no_runaway(two_regions, correction):
    m = two_regions.runs[correction].metrics
    assert m["inflation"][-1] == pytest.approx(1.0, abs=0.05)
    assert m["belief_inflation"][-1] == pytest.approx(1.0, abs=0.06)
    assert m["topk_recall"][-100:].mean() > 0.9  # the truly higher group B is found
    assert m["lock_in"][-100:].mean() < 0.1  # and the first flags are left behind
    # patrols still find crimes where they go: the records stay inflated, the model does not
    assert m["recorded_inflation"][-1] > 1.15


def test_scenarios_share_crimes_and_reports():
    """With nothing for patrols to find, every correction sees the same data and flags."""
    res = simulate_feedback(RATES, **(TWO_REGIONS | {"discovery_prob": 0.0}))
    base = res.runs["none"]
    for name in ("reported_only", "downweight"):
        assert np.array_equal(res.runs[name].flagged, base.flagged)
        for metric in METRICS:
            assert np.allclose(res.runs[name].metrics[metric], base.metrics[metric])


def test_a_weight_of_one_is_no_correction_and_only_a_small_weight_escapes_the_lock():
    full = simulate_feedback(RATES, **TWO_REGIONS, weight=1.0)
    assert np.array_equal(full.runs["downweight"].flagged, full.runs["none"].flagged)
    # A patrolled cell of A counts 10 * (0.3 + 0.42 w) a round against 12 * 0.3 for B's: the
    # lock holds while w > 1 / 7. With w = 0.5 it holds, with w = 0.05 it breaks.
    half = simulate_feedback(RATES, **TWO_REGIONS, weight=0.5, corrections=("downweight",))
    m = half.runs["downweight"].metrics
    assert (m["topk_recall"][-50:] == 0).all() and m["inflation"][-1] > 1.2
    small = simulate_feedback(RATES, **TWO_REGIONS, weight=0.05, corrections=("downweight",))
    m = small.runs["downweight"].metrics
    assert m["topk_recall"][-50:].mean() > 0.9 and m["inflation"][-1] < 1.1
    assert small.config["downweight"] == "found x 0.05"


def test_seeded_runs_are_deterministic_and_seeds_matter():
    kw = dict(k=3, rounds=60, report_prob=0.5, discovery_prob=0.5, half_life=10, warmup=5)
    rates = np.linspace(0.2, 1.0, 12)
    a = simulate_feedback(rates, seed=7, **kw)
    b = simulate_feedback(rates, seed=np.random.default_rng(7), **kw)
    c = simulate_feedback(rates, seed=8, **kw)
    for name in CORRECTIONS:
        assert np.array_equal(a.runs[name].flagged, b.runs[name].flagged)
        assert a.runs[name].to_dict() == b.runs[name].to_dict()
    assert any(
        not np.array_equal(a.runs[n].flagged, c.runs[n].flagged)
        or not np.allclose(a.runs[n].metrics["inflation"], c.runs[n].metrics["inflation"])
        for n in CORRECTIONS
    )


def test_window_model_and_an_equivalent_callable_agree():
    kw = dict(k=3, rounds=40, warmup=6, seed=3, corrections=("none", "reported_only"))
    rates = np.linspace(0.5, 2.0, 10)
    windowed = simulate_feedback(rates, model="window", window=8, **kw)

    def last_eight(training):
        return training[-8:].sum(axis=0)

    called = simulate_feedback(rates, model=last_eight, **kw)
    assert list(called.runs) == ["none", "reported_only"]
    for name in called.runs:
        assert np.array_equal(windowed.runs[name].flagged, called.runs[name].flagged)
    assert called.config["model"] == "last_eight"


def test_result_is_json_with_one_value_per_round():
    res = simulate_feedback(np.linspace(0.1, 1.0, 8), coverage=0.25, rounds=12, warmup=2)
    data = json.loads(json.dumps(res.to_dict()))
    assert data["k"] == 2 and data["n_cells"] == 8
    assert data["milestones"] == [1, 3, 6, 9, 12]
    assert data["truth"]["top_k"] == [7, 6]
    for name in CORRECTIONS:
        s = data["scenarios"][name]
        assert len(s["flagged"]) == 12 and all(len(f) == 2 for f in s["flagged"])
        assert all(len(s[m]) == 12 for m in METRICS)
    assert "flagged" not in res.to_dict(include_flagged=False)["scenarios"]["none"]


def test_synthetic_truth_is_the_citys_long_run_rate(city):
    truth = synthetic_truth(seed=1, cell_size=300)
    assert np.array_equal(truth.cells, np.flatnonzero(city_grid(city, 300).boundary_mask()))
    # the same hotspots as the tests' city; offspring add theta / (1 - theta)
    full = city.background_per_cell(city_grid(city, 300)) / (1 - city.theta)
    assert np.allclose(truth.rates, full[truth.cells])
    assert truth.rates.sum() == pytest.approx(city.background_total / (1 - city.theta), rel=0.02)
    res = simulate_feedback(truth, coverage=0.05, rounds=5, warmup=3)
    assert res.k == 20 and res.truth["n_cells"] == 400 and "synthetic city" in res.truth["note"]


def test_recorded_truth_is_the_recorded_daily_rate(city, grid):
    events = city.events.between("2020-03-01", "2020-05-30")  # 90 days
    truth = recorded_truth(events, grid, "test")
    counts = cell_counts(grid, events)
    days = events.times.astype("datetime64[D]")
    span = int((days.max() - days.min()) / np.timedelta64(1, "D")) + 1
    assert span in (89, 90)
    assert np.array_equal(truth.cells, np.flatnonzero(grid.boundary_mask()))
    assert np.allclose(truth.rates, counts[truth.cells] / span)
    assert truth.rates.sum() * span == pytest.approx(counts[grid.boundary_mask()].sum())
    assert truth.rates.sum() * span > 0.95 * len(events)
    assert "stands in for the truth" in truth.note


def test_a_realistic_city_runs_quickly_and_shows_inflation_only_without_correction():
    truth = synthetic_truth(seed=0, cell_size=150)
    res = simulate_feedback(truth, coverage=0.05, rounds=365, warmup=28, half_life=60, seed=0)
    final = {n: r.metrics["inflation"][-1] for n, r in res.runs.items()}
    assert final["none"] > 1.2
    assert abs(final["reported_only"] - 1) < 0.05 and abs(final["downweight"] - 1) < 0.05


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(coverage=0.0), "coverage must be within"),
        (dict(coverage=1.0), "coverage must be within"),
        (dict(coverage=float("nan")), "coverage must be within"),
        (dict(coverage="a lot"), "coverage must be a number"),
        (dict(k=5), "k must be below"),
        (dict(k=0), "k must be an integer >= 1"),
        (dict(k=2, coverage=0.1), "exactly one of k and coverage"),
        (dict(k=None), "exactly one of k and coverage"),
        (dict(k=2, rounds=0), "rounds must be an integer >= 1"),
        (dict(k=2, report_prob=0.0), "report_prob must be within"),
        (dict(k=2, discovery_prob=1.5), "discovery_prob must be within"),
        (dict(k=2, weight=-0.1), "weight must be within"),
        (dict(k=2, half_life=0), "half_life must be a positive"),
        (dict(k=2, corrections=("none", "magic")), "corrections must be"),
        (dict(k=2, corrections=()), "corrections must be"),
        (dict(k=2, model="kde"), "model must be one of"),
        (dict(k=2, model=lambda t: np.ones(3)), "must return 5 finite non-negative"),
        (dict(k=2, history=np.ones((2, 4))), "history must be an"),
        (dict(k=2, history=-np.ones((2, 5))), "history must be finite"),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_feedback(np.arange(1.0, 6.0), **kwargs)


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        (np.ones((2, 3)), "1-D array"),
        (np.ones(1), "at least 2 cells"),
        (np.array([1.0, -1.0, 2.0]), "non-negative"),
        (np.array([1.0, np.inf]), "finite"),
        (np.zeros(4), "all zero"),
    ],
)
def test_bad_rates_are_refused(rates, message):
    with pytest.raises(ValueError, match=message):
        simulate_feedback(rates, k=1)
