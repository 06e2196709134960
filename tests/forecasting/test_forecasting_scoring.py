"""Scoring issued forecasts after the fact (engine): hand-built windows with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import Events, Grid
from predictions.forecasting.fairness import Groups
from predictions.forecasting.scoring import (
    baseline_scores,
    coverages_with_viewed,
    flagged_exposure,
    running_score,
    score_window,
    window_truth,
)

# 10 cells; cell 0 holds 3 incidents, cell 4 one, cell 9 two: 6 in all
COUNTS = np.array([3, 0, 0, 0, 1, 0, 0, 0, 0, 2], float)
RANKING = np.array([0.9, 0.8, 0.1, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.2])
GRID = Grid("EPSG:32615", 100.0, 0.0, 0.0, 10, 1)  # one row of ten 100 m cells
START = np.datetime64("2024-03-01T00:00:00")


def _events(cells_days: list[tuple[int, float]], category: str = "burglary") -> Events:
    """One incident per (cell, day offset from START) in the middle of the cell."""
    times = [START + np.timedelta64(int(d * 86400), "s") for _, d in cells_days]
    return Events(np.array(times, "datetime64[s]"), np.array([c * 100 + 50 for c, _ in
                                                             cells_days], float),
                  np.full(len(cells_days), 50.0), np.full(len(cells_days), category, object))


def test_it_scores_a_window_with_known_hit_rate_and_pai():
    # 2 of 10 cells flagged (cells 0 and 1): 3 of 6 incidents; the best 2 cells hold 5
    scored = score_window(RANKING, COUNTS, coverages_with_viewed(2, 10, (0.3,)))
    viewed = scored["viewed"]
    assert (viewed["captured"], viewed["best"], viewed["flagged"], viewed["events"],
            viewed["cells"]) == (3, 5, 2, 6, 10)
    assert viewed["hit_rate"] == pytest.approx(0.5)
    assert viewed["pai"] == pytest.approx(0.5 / 0.2)
    assert viewed["pei"] == pytest.approx(3 / 5)
    # 30 %: cells 0, 1 and 4 hold 4 of 6
    assert scored["30%"]["hit_rate"] == pytest.approx(4 / 6)
    assert scored["30%"]["pai"] == pytest.approx((4 / 6) / 0.3)


def test_it_gives_no_rate_for_a_window_without_incidents():
    scored = score_window(RANKING, np.zeros(10), {"1%": 0.01})
    assert scored["1%"]["events"] == 0
    assert scored["1%"]["hit_rate"] is None and scored["1%"]["pai"] is None


def test_it_refuses_a_viewed_coverage_outside_the_cells():
    with pytest.raises(ValueError):
        coverages_with_viewed(0, 10)
    with pytest.raises(ValueError):
        coverages_with_viewed(11, 10)


def test_it_counts_only_the_incidents_inside_the_window():
    # a 7-day window from START: day 0 and day 6.99 are in, day -0.01 and day 7 are out
    events = _events([(0, -0.01), (0, 0.0), (4, 6.99), (9, 7.0), (9, 3.0)])
    truth = window_truth(events, GRID, START, 7, "burglary", np.arange(10))
    assert truth.tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_it_moves_the_score_only_when_an_incident_enters_the_window():
    inside = [(0, 1.0), (9, 2.0)]
    base = window_truth(_events(inside), GRID, START, 7, "burglary", np.arange(10))
    before = score_window(RANKING, base, {"10%": 0.1})["10%"]["hit_rate"]
    # an incident in cell 9 after the window: no change; moved into the window: it counts
    after_window = window_truth(_events([*inside, (9, 7.5)]), GRID, START, 7, "burglary",
                                np.arange(10))
    moved_in = window_truth(_events([*inside, (9, 6.5)]), GRID, START, 7, "burglary",
                            np.arange(10))
    assert score_window(RANKING, after_window, {"10%": 0.1})["10%"]["hit_rate"] == before == 0.5
    assert score_window(RANKING, moved_in, {"10%": 0.1})["10%"]["hit_rate"] == pytest.approx(
        1 / 3)


def test_it_counts_only_the_target_category():
    events = Events.concat(_events([(0, 1.0)]), _events([(0, 2.0), (4, 2.0)], "robbery"))
    truth = window_truth(events, GRID, START, 7, "burglary", np.arange(10))
    assert truth.sum() == 1


def test_the_baseline_sees_no_incident_from_the_window_start_on():
    # recent counts (28 days): cell 3 had two incidents before the window, cell 7 has many
    # inside it and after it
    past = [(3, -2.0), (3, -10.0), (5, -40.0)]
    future = [(7, 0.0), (7, 1.0), (7, 20.0), (7, 100.0)]
    scores = baseline_scores(_events(past + future), GRID, START, 7, "burglary",
                             np.arange(10))
    assert np.argmax(scores) == 3
    assert scores[7] == 0 and scores[5] == 0  # cell 5's incident is older than 28 days
    assert scores[3] == pytest.approx(2 * 7 / 28)


def test_the_running_score_pools_windows_as_the_backtest_does():
    # window 1: 3 of 6 captured with 2 of 10 cells; window 2: 1 of 2 with 1 of 10
    w1 = score_window(RANKING, COUNTS, coverages_with_viewed(2, 10))
    w2 = score_window(RANKING, np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1.0]),
                      coverages_with_viewed(1, 10))
    pooled = running_score([w1, w2], ["viewed"])["viewed"]
    assert pooled["windows"] == 2 and pooled["events"] == 8
    # cell 0 (window 2) holds nothing; window 1's two cells hold 3: 3 of 8
    assert pooled["hit_rate"] == pytest.approx(3 / 8)
    assert pooled["area_share"] == pytest.approx((0.2 + 0.1) / 2)
    assert pooled["pai"] == pytest.approx((3 / 8) / 0.15)


def test_the_running_score_of_nothing_is_empty():
    assert running_score([], ["viewed"]) == {}


def test_it_gives_the_exposure_of_each_group_for_the_flagged_cells():
    # cells 0-4: group A (100 residents each); cells 5-9: group B (100 each)
    residents = np.zeros((10, 2))
    residents[:5, 0] = 100
    residents[5:, 1] = 100
    groups = Groups(("A", "B"), residents, np.ones((10, 2)))
    scores = np.array([0, 0, 0, 0, 0, 5, 4, 3, 0, 0], float)
    out = flagged_exposure(groups, np.arange(10), scores, 2)
    # both flagged cells in B: B holds all flagged residents and half of all residents
    assert out["B"]["exposure_ratio"] == pytest.approx(2.0)
    assert out["A"]["exposure_ratio"] == pytest.approx(0.0)


def test_a_closed_window_scores_as_the_backtest_scored_it(city, grid, day):
    from predictions.forecasting import make_forecaster, run_backtest
    from predictions.forecasting.scoring import SCORE_COVERAGES, coverage_label

    starts = [city.start + k * day for k in (400, 407, 414)]
    result = run_backtest(city.events, grid, ["kde"], starts, 7, coverages=SCORE_COVERAGES)
    kde = result.methods["kde"]
    labels = {coverage_label(c): c for c in SCORE_COVERAGES}
    for w, start in enumerate(starts):
        # the forecast issued for the window, scored once it closed
        forecaster = make_forecaster("kde", grid=grid).fit(city.events.before(start), start)
        cells = np.flatnonzero(forecaster.active_)
        scored = score_window(forecaster.predict_grid(start, 7)[cells],
                              window_truth(city.events, grid, start, 7, None, cells), labels)
        alone = result.windows([w]).summary(SCORE_COVERAGES)["kde"]["coverage"]
        for j, label in enumerate(labels):
            row = scored[label]
            assert (row["captured"], row["flagged"], row["events"], row["cells"]) == (
                kde.captured[w][j], kde.flagged[w][j], kde.events[w], kde.cells[w])
            assert row["captured"] > 0
            assert row["hit_rate"] == pytest.approx(alone[label]["hit_rate"])
            assert row["pai"] == pytest.approx(alone[label]["pai"])
