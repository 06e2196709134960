"""The weighted displacement difference (predictions.forecasting.wdd) on hand-built counts,
worked by hand from Wheeler and Ratcliffe's (2018) formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import box

from predictions.forecasting.wdd import (
    PrePost,
    area_counts,
    ring,
    weighted_displacement_difference,
)


def test_it_gives_the_treated_drop_net_of_the_control_drop_with_its_interval():
    # treated 100 -> 80, control 100 -> 90: WDD = -20 - (-10) = -10
    # Var = 100 + 80 + 100 + 90 = 370, SE = 19.235; 95%: -10 +- 1.959964 * 19.235
    r = weighted_displacement_difference(treated=PrePost(100, 80), control=PrePost(100, 90))

    assert r.wdd == -10 and r.variance == 370
    assert r.se == pytest.approx(19.2354, abs=1e-4)
    assert (r.ci_low, r.ci_high) == pytest.approx((-47.700, 27.700), abs=1e-3)
    assert r.z == pytest.approx(-0.51988, abs=1e-4)


def test_it_adds_what_moved_into_the_buffer_net_of_the_buffers_control():
    # T 50 -> 30 (-20), Ct 40 -> 40 (0), D 20 -> 25 (+5), Cd 30 -> 28 (-2)
    # WDD = -20 - 0 + 5 - (-2) = -13; Var = 50+30+40+40+20+25+30+28 = 263
    # z = -13 / sqrt(263) = -0.80162; p = 2 * (1 - Phi(0.80162)) = 0.42277
    r = weighted_displacement_difference(
        treated=PrePost(50, 30), control=PrePost(40, 40),
        displacement=PrePost(20, 25), displacement_control=PrePost(30, 28))

    assert r.wdd == -13 and r.variance == 263
    assert r.local == -20 and r.displacement == 7
    assert r.z == pytest.approx(-13 / math.sqrt(263))
    assert r.p_value == pytest.approx(0.42277, abs=1e-4)


def test_a_90_percent_interval_is_narrower():
    r = weighted_displacement_difference(treated=PrePost(100, 80), control=PrePost(100, 90),
                                         level=0.90)
    assert r.ci_high - r.ci_low == pytest.approx(2 * 1.644854 * math.sqrt(370), abs=1e-3)


def test_it_refuses_negative_or_fractional_counts():
    with pytest.raises(ValueError, match="whole numbers"):
        PrePost(-1, 3)
    with pytest.raises(ValueError, match="whole numbers"):
        PrePost(1.5, 3)


def test_it_counts_points_of_an_area_before_and_after():
    x = np.array([1.0, 2.0, 3.0, 15.0, 5.0])
    y = np.array([1.0, 2.0, 3.0, 15.0, 5.0])
    after = np.array([False, False, True, True, True])

    counts = area_counts(x, y, after, box(0, 0, 10, 10))

    assert counts == PrePost(before=2, after=2)


def test_the_displacement_area_is_the_band_around_the_area_without_it():
    band = ring(box(0, 0, 10, 10), 2)
    # four 10 x 2 sides and four quarter circles of radius 2 at the corners
    assert band.area == pytest.approx(4 * 10 * 2 + math.pi * 2**2, rel=0.001)
    assert not band.contains(box(1, 1, 2, 2))
    with pytest.raises(ValueError, match="wider than 0"):
        ring(box(0, 0, 1, 1), 0)
