"""The Knox near-repeat test (predictions.forecasting.knox) on hand-built data with known
answers, against a brute-force enumeration of every permutation, and against pointpats on a
St. Louis year of burglaries."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest

from predictions.forecasting.knox import KnoxTest, pairs_within

STL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "stl"

# A and D at the same place 20 days apart, B 50 m from them, C a kilometre away:
#   pairs within 100 m: A-B (50 m, 3 days), A-D (0 m, 20 days), B-D (50 m, 17 days)
#   every pair's days apart: A-B 3, A-C 5, A-D 20, B-C 2, B-D 17, C-D 15
X = np.array([0.0, 50.0, 1000.0, 0.0])
Y = np.zeros(4)
T = np.array([0.0, 3.0, 5.0, 20.0])
BANDS = {"distance_bands": (0, 100), "time_bands": (7, 30)}


def test_it_counts_the_pairs_of_each_distance_and_time_band():
    test = KnoxTest(**BANDS, permutations=0).fit(X, Y, T)

    # same place: A-D is 20 days apart; up to 100 m: A-B within 7 days, B-D within 30
    assert test.observed_.tolist() == [[0, 1], [1, 1]]
    assert test.n_pairs_ == 6 and test.n_close_pairs_ == 3


def test_it_expects_distance_pairs_times_the_share_of_pairs_in_the_time_band():
    test = KnoxTest(**BANDS, permutations=0).fit(X, Y, T)

    # S = (1 same-place pair, 2 pairs up to 100 m); T = (3 pairs <= 7 days, 3 in 7-30 days)
    # expected = S_d * T_t / 6 pairs
    assert test.expected_ == pytest.approx(np.array([[0.5, 0.5], [1.0, 1.0]]))
    assert test.ratio_ == pytest.approx(np.array([[0.0, 2.0], [1.0, 1.0]]))


def test_the_expected_count_is_the_mean_over_every_permutation_of_the_times():
    test = KnoxTest(**BANDS, permutations=0).fit(X, Y, T)

    tables = [KnoxTest(**BANDS, permutations=0).fit(X, Y, np.array(p)).observed_
              for p in itertools.permutations(T)]

    assert np.mean(tables, axis=0) == pytest.approx(test.expected_)


def test_the_p_value_is_the_share_of_permutations_with_as_many_pairs():
    # exactly: over the 24 orders of the 4 dates, how often is each cell at least observed?
    observed = KnoxTest(**BANDS, permutations=0).fit(X, Y, T).observed_
    tables = np.array([KnoxTest(**BANDS, permutations=0).fit(X, Y, np.array(p)).observed_
                       for p in itertools.permutations(T)])
    exact = (tables >= observed).mean(axis=0)

    test = KnoxTest(**BANDS, permutations=4999, seed=3).fit(X, Y, T)

    assert test.p_value_ == pytest.approx(exact, abs=0.02)
    assert test.p_value_.min() >= 1 / 5000


def test_the_same_seed_gives_the_same_p_values_and_progress_reaches_the_end():
    rng = np.random.default_rng(0)
    x, y, t = rng.uniform(0, 2000, 300), rng.uniform(0, 2000, 300), rng.integers(0, 90, 300)
    seen: list[tuple[int, int]] = []

    first = KnoxTest(permutations=99, seed=7).fit(x, y, t, progress=lambda *a: seen.append(a))
    again = KnoxTest(permutations=99, seed=7).fit(x, y, t)

    assert np.array_equal(first.p_value_, again.p_value_)
    assert seen[-1] == (99, 99) and len(seen) > 1


def test_pairs_within_counts_every_pair_at_most_tau_apart():
    t = np.array([0.0, 3, 5, 20])
    # days apart: 3, 5, 20, 2, 17, 15
    assert [pairs_within(t, tau) for tau in (0, 2, 5, 17, 20)] == [0, 1, 3, 5, 6]


@pytest.mark.parametrize("params, message", [
    ({"distance_bands": (100, 50)}, "increase"),
    ({"time_bands": ()}, "at least one"),
    ({"distance_bands": (-1, 10)}, "not negative"),
    ({"permutations": -1}, "permutations"),
])
def test_it_refuses_bad_bands_with_a_clear_error(params, message):
    with pytest.raises(ValueError, match=message):
        KnoxTest(**params).fit(X, Y, T)


def test_it_refuses_too_few_or_unusable_points():
    with pytest.raises(ValueError, match="at least two"):
        KnoxTest().fit(X[:1], Y[:1], T[:1])
    with pytest.raises(ValueError, match="finite"):
        KnoxTest().fit(X, Y, np.array([0, 1, np.nan, 3]))


def planted(seed: int, repeats: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A year of random incidents over 15 x 20 km, plus `repeats` followers each within
    about 50 m and 10 days of a random earlier one."""
    rng = np.random.default_rng(seed)
    n = 4000
    x, y = rng.uniform(0, 15000, n), rng.uniform(0, 20000, n)
    t = rng.integers(0, 365, n).astype(float)
    source = rng.integers(0, n, repeats)
    return (np.r_[x, x[source] + rng.normal(0, 40, repeats)],
            np.r_[y, y[source] + rng.normal(0, 40, repeats)],
            np.r_[t, t[source] + rng.integers(1, 10, repeats)])


def test_it_finds_planted_near_repeats_within_their_distance_and_time():
    zones = KnoxTest(permutations=99).fit(*planted(1, 400)).zones()

    near = zones["nearby"]
    assert near is not None and near.distance <= 200 and near.days <= 14
    assert near.ratio > 1.5 and near.p_value == pytest.approx(0.01)


def test_it_finds_no_zone_where_times_are_unrelated_to_places():
    zones = KnoxTest(permutations=99).fit(*planted(2, 0)).zones()

    assert zones == {"same_place": None, "nearby": None}


def st_louis_burglaries_2019() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pd = pytest.importorskip("pandas")
    path = STL / "stl_2015_2019_harmonized.csv.gz"
    if not path.exists():
        pytest.skip("needs ../shared/data (St. Louis)")
    df = pd.read_csv(path, usecols=["date_occur", "description", "lon", "lat", "is_clean"])
    keep = (df.description.str.startswith("BURGLARY") & df.is_clean.astype(bool)
            & df.lon.notna() & df.date_occur.str.startswith("2019"))
    b = df[keep]
    from predictions.forecasting.grid import lonlat_to_xy

    x, y = lonlat_to_xy("EPSG:32615", b.lon.to_numpy(), b.lat.to_numpy())
    days = pd.to_datetime(b.date_occur).to_numpy().astype("datetime64[D]").astype(np.int64)
    return x, y, days.astype(float)


@pytest.mark.parametrize("delta, tau", [(100, 7), (200, 14), (500, 56), (0, 28)])
def test_it_counts_what_pointpats_counts_on_st_louis_burglaries(delta, tau):
    spacetime = pytest.importorskip("pointpats.spacetime")
    x, y, days = st_louis_burglaries_2019()
    assert x.size > 2500

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = spacetime.Knox(np.c_[x, y], days.reshape(-1, 1), delta=delta, tau=tau,
                                   permutations=0)
    ours = KnoxTest(distance_bands=(0, 100, 200, 500), time_bands=(7, 14, 28, 56),
                    permutations=0).fit(x, y, days)

    # pointpats counts pairs with distance <= delta and days apart <= tau: our bands up to
    # (delta, tau), summed
    d = [0, 100, 200, 500].index(delta)
    t = [7, 14, 28, 56].index(tau)
    assert ours.observed_[: d + 1, : t + 1].sum() == reference.nst
    assert ours.expected_[: d + 1, : t + 1].sum() == pytest.approx(reference.expected[0, 0])


def test_it_refuses_more_close_pairs_than_it_can_hold(monkeypatch):
    from predictions.forecasting import knox

    monkeypatch.setattr(knox, "MAX_CLOSE_PAIRS", 2)
    with pytest.raises(ValueError, match="3 pairs within 100 m: more than 2"):
        KnoxTest(**BANDS).fit(X, Y, T)
