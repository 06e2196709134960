"""Where the history starts: the steadiest run of months, stray old records before it."""

import numpy as np
import pytest

from predictions.forecasting.history import history_start, steady_start_month


def months(first: str, n: int) -> list[np.datetime64]:
    return [np.datetime64(first, "M") + i for i in range(n)]


def test_it_starts_at_the_steady_run_after_stray_years():
    stray = months("2003-01", 140)  # a record or two a month, years before the data
    data = months("2015-01", 36)
    start = steady_start_month(stray + data, [1 + i % 3 for i in range(140)] + [900] * 36)
    assert start == np.datetime64("2015-01")


def test_it_keeps_a_gap_out_of_the_run():
    # a steady year, a quiet gap, then two steady years: the longer run wins
    counts = [500] * 12 + [0 + 1] * 6 + [500] * 24
    assert steady_start_month(months("2010-01", 42), counts) == np.datetime64("2011-07")


def test_history_start_is_the_first_day_of_that_month_or_the_first_event():
    times = np.array(["2008-05-03T10:00", "2012-01-09T00:00"]
                     + [f"2019-0{m}-{d:02d}T12:00" for m in (2, 3, 4) for d in range(1, 29)
                        for _ in range(3)], "datetime64[s]")
    assert history_start(times) == np.datetime64("2019-02-01T00:00:00")
    late = times[times >= np.datetime64("2019-02-05")]  # no stray records: the first event's day
    assert history_start(late) == np.datetime64("2019-02-05T00:00:00")


def test_no_events_is_an_error():
    assert steady_start_month([], []) is None
    with pytest.raises(ValueError):
        history_start(np.array([], "datetime64[s]"))


def test_a_short_history_is_not_outvoted_by_stray_months():
    # two real months and eleven stray ones: the typical month is a real one
    stray = months("2010-06", 11)
    assert steady_start_month(stray + months("2024-02", 2), [1] * 11 + [3, 400]) == (
        np.datetime64("2024-03"))


def test_one_outsized_month_does_not_set_the_scale():
    # five years of 3,000 a month and one backfilled month of 40,000, early or last
    for spike in (40, 59):
        counts = [3000] * 60
        counts[spike] = 40_000
        assert steady_start_month(months("2015-01", 60), counts) == np.datetime64("2015-01")
