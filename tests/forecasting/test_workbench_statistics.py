"""The workbench's statistics against hand-built data with known answers (no database):
periods and year-before changes (trends), the hour-by-weekday and month tables (timing), and
the count forecasts with their intervals and rolling origins (count_forecast)."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting.count_forecast import (
    SeasonalCountForecaster,
    count_interval,
    rolling_coverage,
    rolling_forecasts,
    rolling_origins,
)
from predictions.forecasting.timing import (
    heat_levels,
    hour_weekday_matrix,
    month_exposure,
    month_profile,
    per_day,
    shares,
)
from predictions.forecasting.trends import (
    complete_periods,
    dense_counts,
    last_year,
    percent_change,
    period_days,
    period_range,
    period_start,
    trend,
)


def days(*texts: str) -> np.ndarray:
    return np.array(texts, "datetime64[D]")


# trends ---------------------------------------------------------------------------------
def test_it_starts_weeks_on_monday_and_months_on_the_first():
    # 2019-12-31 is a Tuesday, 2019-12-29 a Sunday, 2019-12-30 a Monday
    assert period_start(days("2019-12-31", "2019-12-29", "2019-12-30"), "week").tolist() == (
        days("2019-12-30", "2019-12-23", "2019-12-30").tolist())
    assert period_start(days("2019-12-31", "2020-02-29"), "month").tolist() == (
        days("2019-12-01", "2020-02-01").tolist())


def test_it_lists_consecutive_periods_and_their_lengths():
    weeks = period_range(np.datetime64("2019-12-25"), np.datetime64("2020-01-08"), "week")
    assert weeks.tolist() == days("2019-12-23", "2019-12-30", "2020-01-06").tolist()
    months = period_range(np.datetime64("2019-12-25"), np.datetime64("2020-03-01"), "month")
    assert months.tolist() == days("2019-12-01", "2020-01-01", "2020-02-01",
                                   "2020-03-01").tolist()
    assert period_days(months, "month").tolist() == [31, 31, 29, 31]  # 2020 is a leap year
    assert period_days(weeks, "week").tolist() == [7, 7, 7]


def test_it_puts_counts_on_every_period_with_zeros_between():
    on = days("2020-01-06", "2020-01-13", "2020-01-20", "2020-01-27")
    got = dense_counts(days("2020-01-20", "2020-01-06", "2019-01-07"), [5, 2, 9], on)
    assert got.tolist() == [2, 0, 5, 0]  # the 2019 week is not on the periods: ignored


def test_it_compares_a_week_with_the_week_52_weeks_before_and_a_month_with_12_before():
    weekly = np.arange(60)
    before = last_year(weekly, "week")
    assert np.isnan(before[:52]).all() and before[52:].tolist() == list(range(8))
    monthly = np.arange(14)
    assert last_year(monthly, "month")[12:].tolist() == [0, 1]


def test_it_gives_the_change_in_percent_and_none_of_nothing():
    got = percent_change(np.array([150, 50, 3, 7]), np.array([100, 100, 0, np.nan]))
    assert got[:2].tolist() == [50.0, -50.0]
    assert np.isnan(got[2]) and np.isnan(got[3])


def test_it_builds_a_trend_per_category_row():
    starts = period_range(np.datetime64("2018-01-01"), np.datetime64("2019-02-01"), "month")
    counts = np.array([np.full(len(starts), 10), np.arange(len(starts))])
    t = trend(starts, counts, period="month")
    assert t.counts.shape == t.last_year.shape == t.change.shape == (2, 14)
    assert t.last_year[0, 12] == 10 and t.change[0, 12] == 0.0
    assert t.last_year[1, 13] == 1 and t.change[1, 13] == pytest.approx(1200.0)


def test_it_counts_a_period_complete_only_once_it_has_ended():
    starts = days("2019-12-23", "2019-12-30")
    assert complete_periods(starts, "week", np.datetime64("2020-01-01")).tolist() == [
        True, False]
    assert complete_periods(starts, "week", np.datetime64("2020-01-06")).tolist() == [
        True, True]


# timing ---------------------------------------------------------------------------------
def test_it_builds_the_hour_by_weekday_table():
    table = hour_weekday_matrix([0, 23, 23, 12], [0, 6, 6, 3], [1, 2, 3, 4])
    assert table.shape == (24, 7) and table.sum() == 10
    assert (table[0, 0], table[23, 6], table[12, 3]) == (1, 5, 4)


def test_it_refuses_hours_and_weekdays_out_of_range():
    with pytest.raises(ValueError, match="hour"):
        hour_weekday_matrix([24], [0], [1])
    with pytest.raises(ValueError, match="weekday"):
        hour_weekday_matrix([1], [7], [1])


def test_it_builds_the_month_profile_with_the_days_each_month_was_covered():
    assert month_profile([1, 12, 12], [4, 5, 6]).tolist() == [4] + [0] * 10 + [11]
    covered = month_exposure(np.datetime64("2019-01-01"), np.datetime64("2020-02-01"))
    assert covered.tolist() == [62, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    rate = per_day(np.array([62, 0]), np.array([62, 0]))
    assert rate[0] == 1.0 and np.isnan(rate[1])


def test_it_shades_cells_in_proportion_to_the_largest():
    assert heat_levels(np.array([0, 1, 50, 100]), 6).tolist() == [0, 1, 3, 6]
    assert heat_levels(np.zeros(3)).tolist() == [0, 0, 0]
    assert heat_levels(np.array([90, 95, 100]), 6, from_least=True).tolist() == [1, 4, 6]
    assert shares(np.array([1, 3])).tolist() == [25.0, 75.0]


# count forecasts --------------------------------------------------------------------------
def test_it_takes_the_interval_ends_whose_tails_are_nearest_to_the_level():
    draws = np.repeat(np.arange(10), 100)  # 0..9, each with probability 0.1
    low, high = count_interval(draws, 0.8)
    assert (int(low), int(high)) == (1, 8)  # P(1 <= Y <= 8) = 0.8 exactly
    low, high = count_interval(np.zeros(100, int), 0.95)
    assert (int(low), int(high)) == (0, 0)


def seasonal_series(n_weeks: int = 260, seed: int = 0, level: float = 20.0):
    """Weekly Poisson counts whose mean follows the season: level * (1 + 0.4 sin)."""
    starts = period_range(np.datetime64("2015-01-05"), np.datetime64("2015-01-05")
                          + 7 * (n_weeks - 1), "week")
    phase = ((starts + 3) - starts.astype("datetime64[Y]").astype("datetime64[D]")).astype(
        float) / 365.25
    mean = level * (1 + 0.4 * np.sin(2 * np.pi * phase))
    return starts, np.random.default_rng(seed).poisson(mean), mean


def test_it_forecasts_a_known_seasonal_mean():
    starts, counts, _ = seasonal_series(264)
    f = SeasonalCountForecaster(period="week").fit(starts[:260], counts[:260])
    got = f.predict()
    assert got.starts.tolist() == starts[260:].tolist()
    _, _, truth = seasonal_series(264)
    assert np.allclose(got.mean, truth[260:], rtol=0.2)
    for level in (0.8, 0.95):
        assert np.all(got.lower[level] <= got.mean) and np.all(got.mean <= got.upper[level])
    assert np.all(got.upper[0.95] - got.lower[0.95] >= got.upper[0.8] - got.lower[0.8])


def test_its_intervals_hold_about_as_often_as_they_say_on_a_known_process():
    starts, counts, _ = seasonal_series(260, seed=3)
    f = SeasonalCountForecaster(period="week", draws=1000)
    at = rolling_origins(len(starts), horizon=4, origins=40, step=2, first=f.min_periods)
    coverage = rolling_coverage(f, starts, counts, at)
    assert coverage.hits[0.8].size == 160
    assert abs(coverage.hits[0.8].mean() - 0.8) < 0.08
    assert abs(coverage.hits[0.95].mean() - 0.95) < 0.05


def test_a_forecast_never_sees_the_counts_after_its_origin():
    starts, counts, _ = seasonal_series(200, seed=5)
    f = SeasonalCountForecaster(period="week", draws=500)
    at = np.array([150, 170])
    before = rolling_forecasts(f, starts, counts, at)
    changed = counts.copy()
    changed[150:] = 10 * changed[150:] + 99  # the future is rewritten
    after = rolling_forecasts(f, starts, changed, at)
    assert np.array_equal(before[0].mean, after[0].mean)
    assert np.array_equal(before[0].upper[0.95], after[0].upper[0.95])
    assert not np.array_equal(before[1].mean, after[1].mean)  # (the later origin sees some)


def test_it_forecasts_nothing_from_a_history_of_nothing():
    starts, _, _ = seasonal_series(60)
    got = SeasonalCountForecaster(period="week").fit(starts, np.zeros(60)).predict()
    assert got.family == ["none"] * 4 and got.mean.tolist() == [0.0] * 4
    assert got.upper[0.95].tolist() == [0] * 4


def test_it_forecasts_months_with_their_lengths():
    starts = period_range(np.datetime64("2015-01-01"), np.datetime64("2019-12-01"), "month")
    counts = 3 * period_days(starts, "month")  # 3 a day, every day
    got = SeasonalCountForecaster(period="month").fit(starts, counts).predict()
    assert got.starts.tolist() == days("2020-01-01", "2020-02-01", "2020-03-01").tolist()
    assert np.allclose(got.mean, [93, 87, 93], rtol=0.03)  # February 2020 has 29 days


@pytest.mark.parametrize("starts, counts, message", [
    (days("2019-01-07", "2019-01-21"), [1, 2], "at least"),
    (np.arange(np.datetime64("2019-01-07"), np.datetime64("2019-12-30"), 7)[::-1], None,
     "consecutive"),
    (np.arange(np.datetime64("2019-01-07"), np.datetime64("2019-12-30"), 7), -1,
     "not negative"),
])
def test_it_refuses_bad_series(starts, counts, message):
    if counts is None or counts == -1:
        counts = np.full(len(starts), 5 if counts is None else -1)
    with pytest.raises(ValueError, match=message):
        SeasonalCountForecaster(period="week").fit(starts, counts)


def test_it_places_rolling_origins_with_room_for_the_horizon():
    assert rolling_origins(20, horizon=4, origins=3, step=2, first=0).tolist() == [12, 14, 16]
    assert rolling_origins(20, horizon=4, origins=99, step=5, first=10).tolist() == [11, 16]
    assert rolling_origins(5, horizon=4, origins=3, first=10).tolist() == []
