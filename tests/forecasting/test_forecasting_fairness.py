"""Area layers on the grid, group exposure, accuracy by group, fair selection, the report."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from predictions.forecasting import Grid, rolling_origins, run_backtest
from predictions.forecasting.areal import area_weights, point_covariates, polygon_covariates
from predictions.forecasting.fair_selection import exposure_ratios, select_cells
from predictions.forecasting.fairness import (
    NO_RESIDENTS,
    Groups,
    accuracy_by_group,
    exposure,
    groups_from_layer,
    largest_disparity,
    majority_labels,
    quantile_labels,
)
from predictions.forecasting.fairness_report import fairness_report
from predictions.forecasting.grid import xy_to_lonlat

CRS = "EPSG:32615"
X0, Y0 = 700_000.0, 4_280_000.0


def _grid(nx: int, ny: int, size: float = 100.0) -> Grid:
    return Grid(CRS, size, X0, Y0, nx, ny)


def _lonlat(geom):
    """A metric polygon (offsets from X0/Y0) as lon/lat, as layers arrive."""
    return shapely.transform(
        geom,
        lambda c: np.column_stack(xy_to_lonlat(CRS, c[:, 0] + X0, c[:, 1] + Y0)),
    )


# areal weighting ------------------------------------------------------------------------------
def test_it_splits_a_polygon_by_the_area_each_cell_holds():
    grid = _grid(2, 1)
    weights = area_weights(grid, [_lonlat(box(0, 0, 150, 100))])
    cells = weights.allocate(np.array([300.0]))
    assert cells == pytest.approx([200.0, 100.0], rel=1e-4)


def test_it_conserves_population_of_irregular_polygons():
    grid = _grid(10, 10)
    polys = [Polygon([(10, 10), (640, 80), (300, 900)]), box(650, 20, 990, 990),
             Polygon([(20, 920), (600, 960), (640, 300)])]
    pop = np.array([1234.0, 5678.0, 91.0])
    weights = area_weights(grid, [_lonlat(p) for p in polys])
    assert weights.allocate(pop).sum() == pytest.approx(pop.sum(), rel=1e-6)
    per_polygon = weights.allocate(np.eye(3)).sum(axis=0)
    assert per_polygon == pytest.approx([1.0, 1.0, 1.0], rel=1e-6)


def test_it_averages_intensive_values_by_area():
    grid = _grid(2, 1)
    weights = area_weights(grid, [_lonlat(box(0, 0, 50, 100)), _lonlat(box(50, 0, 100, 100))])
    values = weights.average(np.array([10.0, 20.0]))
    assert values[0] == pytest.approx(15.0, rel=1e-4)
    assert np.isnan(values[1])


def test_it_turns_counts_into_densities_and_rates_into_means():
    grid = _grid(2, 1)
    weights = area_weights(grid, [_lonlat(box(0, 0, 200, 100))])
    cov, names = polygon_covariates(
        weights, {"pop": np.array([200.0]), "poverty_rate": np.array([30.0])},
        {"pop": "count", "poverty_rate": "rate"})
    assert names == ("pop_per_km2", "poverty_rate")
    assert cov[:, 0] == pytest.approx([10_000.0, 10_000.0], rel=1e-3)  # 100 per 0.01 km2
    assert cov[:, 1] == pytest.approx([30.0, 30.0])


def test_it_counts_points_near_each_cell():
    grid = _grid(3, 1)
    lon, lat = xy_to_lonlat(CRS, np.array([X0 + 50, X0 + 60]), np.array([Y0 + 50, Y0 + 50]))
    cov, names = point_covariates(grid, lon, lat, radius_m=120)
    assert names == ("within_120m", "nearest_m")
    assert cov[:, 0].tolist() == [2, 2, 0]
    assert cov[2, 1] == pytest.approx(190.0, abs=0.5)


# groups and exposure --------------------------------------------------------------------------
def test_it_labels_tracts_by_majority_and_by_population_weighted_quintile():
    counts = np.array([[10, 90], [60, 40], [50, 50]])
    assert majority_labels(counts, ["a", "b"]).tolist() == ["b", "a", "a"]
    values = np.array([5.0, 1.0, 3.0, np.nan])
    pop = np.array([100.0, 100.0, 800.0, 50.0])
    labels = quantile_labels(values, pop, q=5, label="poverty")
    # sorted by value: 1.0 (0-10 %), 3.0 (10-90 %: middle at 50 %), 5.0 (90-100 %)
    assert labels[1] == "poverty 1 of 5"
    assert labels[2] == "poverty 3 of 5"
    assert labels[0] == "poverty 5 of 5"
    assert labels[3] == "unknown"


def test_it_computes_exposure_against_population_area_and_crime():
    residents = np.array([[90.0, 10.0], [10.0, 90.0], [50.0, 50.0], [0.0, 0.0]])
    area = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    groups = Groups(("a", "b"), residents, area)
    crime = np.array([1.0, 5.0, 2.0, 2.0])
    out = exposure(groups, np.arange(4), np.array([1]), crime)
    # flagged cell 1: 90 % of its residents are b; b is 150/300 = 50 % of residents
    assert out["b"]["exposure_ratio"] == pytest.approx(0.9 / 0.5)
    assert out["a"]["exposure_ratio"] == pytest.approx(0.1 / 0.5)
    # crime by area: a = 1 + 1 + 2 = 4, b = 5 + 1 = 6 -> b's crime share 0.6
    assert out["b"]["crime_share"] == pytest.approx(0.6)
    assert out["b"]["exposure_to_crime_ratio"] == pytest.approx(0.9 / 0.6)
    assert out["a"]["area_share"] == pytest.approx(2.5 / 4)
    assert largest_disparity([out["a"]["exposure_ratio"], out["b"]["exposure_ratio"]]) == (
        pytest.approx(5.0))
    assert groups.dominant(np.arange(4)).tolist() == ["a", "b", "a", NO_RESIDENTS]


def test_it_builds_groups_that_conserve_each_groups_population():
    grid = _grid(4, 4)
    polys = [_lonlat(box(0, 0, 230, 400)), _lonlat(box(230, 0, 400, 400))]
    groups = groups_from_layer(area_weights(grid, polys), np.array(["x", "y"]),
                               np.array([1000.0, 300.0]))
    assert groups.names == ("x", "y")
    assert groups.residents.sum(axis=0) == pytest.approx([1000.0, 300.0], rel=1e-6)


# accuracy by group ----------------------------------------------------------------------------
def test_it_measures_accuracy_by_group_by_hand():
    labels = np.array(["a", "a", "b", "b"], dtype=object)
    observed = [np.array([2.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 3.0, 0.0])]
    scores = [np.array([5.0, 1.0, 4.0, 0.5]), np.array([0.2, 0.1, 3.0, 0.4])]
    out = accuracy_by_group(observed, scores, labels, coverage=0.5, n_boot=50)
    # window 1 flags cells 0 and 2; window 2 flags cells 2 and 3
    assert out["a"]["hit_rate"] == pytest.approx(2 / 3)
    assert out["b"]["hit_rate"] == pytest.approx(4 / 5)
    assert out["a"]["flagged_share"] == pytest.approx(1 / 4)
    assert out["b"]["flagged_share"] == pytest.approx(3 / 4)
    assert out["a"]["pai"] == pytest.approx((2 / 3) / (1 / 4))
    assert out["b"]["flagged_without_crime"] == pytest.approx(1 / 3)
    assert out["a"]["calibration"] == pytest.approx((5 + 1 + 0.2 + 0.1) / 3)
    low, high = out["b"]["hit_rate_ci95"]
    assert low <= out["b"]["hit_rate"] <= high


# fair selection -------------------------------------------------------------------------------
def _problem(seed: int, n: int = 12):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 100, n) * (np.arange(n) % 3 != 0)
    b = rng.uniform(0, 100, n) * (np.arange(n) % 3 == 0) * 2
    scores = rng.gamma(0.7, 1.0, n) + (b > 0) * 1.5  # b's cells score higher
    return scores, np.column_stack([a, b])


@pytest.mark.parametrize("seed", range(8))
def test_it_selects_the_best_cells_that_keep_every_group_in_the_band(seed):
    scores, residents = _problem(seed)
    band = (0.8, 1.25)
    sel = select_cells(scores, residents, 3, band, exact=True)
    fast = select_cells(scores, residents, 3, band)
    best = -np.inf
    for combo in itertools.combinations(range(scores.size), 3):
        ratios = exposure_ratios(np.array(combo), residents)
        if all(r is not None and band[0] <= r <= band[1] for r in ratios):
            best = max(best, scores[list(combo)].sum())
    if np.isfinite(best):
        assert sel.met_requested
        assert all(band[0] - 1e-9 <= r <= band[1] + 1e-9 for r in sel.ratios)
        assert scores[sel.chosen].sum() == pytest.approx(best)
        # the relaxation-and-completion path is within its stated gap of the optimum
        assert fast.met_requested
        assert scores[fast.chosen].sum() >= best * (1 - fast.bound_gap) - 1e-9
        assert scores[fast.chosen].sum() <= best + 1e-9
    else:
        assert not sel.met_requested and not fast.met_requested


def test_the_fast_path_matches_the_exact_programme_on_a_city_sized_problem():
    rng = np.random.default_rng(5)
    n = 1500
    residents = np.column_stack([rng.gamma(2, 200, n) * (rng.random(n) < 0.6),
                                 rng.gamma(2, 200, n) * (rng.random(n) < 0.5),
                                 rng.gamma(1, 50, n)])
    scores = rng.gamma(0.5, 1, n) * (1 + residents[:, 1] / 400)
    for k in (15, 75):
        exact = select_cells(scores, residents, k, (0.8, 1.25), exact=True)
        fast = select_cells(scores, residents, k, (0.8, 1.25))
        assert fast.band == exact.band == (0.8, 1.25)
        assert fast.bound_gap < 0.01
        assert scores[fast.chosen].sum() == pytest.approx(scores[exact.chosen].sum(), rel=0.01)


def test_it_keeps_the_plain_top_cells_without_a_band():
    scores, residents = _problem(0)
    sel = select_cells(scores, residents, 4, None)
    assert sorted(sel.chosen.tolist()) == sorted(np.argsort(-scores)[:4].tolist())
    assert sel.score_share == 1.0


def test_it_widens_the_band_and_says_so_when_the_band_cannot_be_met():
    residents = np.array([[100.0, 0.0], [100.0, 0.0], [0.0, 10.0]])
    sel = select_cells(np.array([3.0, 2.0, 1.0]), residents, 1, (0.8, 1.25))
    assert not sel.met_requested
    assert sel.requested_band == (0.8, 1.25)
    assert sel.band is None or sel.band[1] > 1.25


def test_it_refuses_a_band_that_excludes_parity():
    scores, residents = _problem(0)
    with pytest.raises(ValueError, match="band"):
        select_cells(scores, residents, 2, (1.1, 2.0))


# the report -----------------------------------------------------------------------------------
def test_the_report_keeps_the_fair_option_in_band_on_the_synthetic_city(city, grid):
    x0, y0, x1, y1 = city.bounds
    step = (x1 - x0) / 4
    polys, pop, share_a = [], [], []
    rng = np.random.default_rng(3)
    for i, j in itertools.product(range(4), range(4)):
        geom = box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step)
        polys.append(shapely.transform(
            geom, lambda c: np.column_stack(xy_to_lonlat(city.crs, c[:, 0], c[:, 1]))))
        pop.append(rng.integers(500, 3000))
        share_a.append(0.9 if (i + j) % 2 else 0.2)
    pop = np.array(pop, float)
    counts = np.column_stack([pop * share_a, pop * (1 - np.array(share_a))])
    groups = groups_from_layer(area_weights(grid, polys), majority_labels(counts, ["A", "B"]),
                               pop)
    starts = rolling_origins(city.start + np.timedelta64(600, "D"),
                             city.start + np.timedelta64(684, "D"), 7)
    bt = run_backtest(city.events, grid, ["recent_counts"], starts, 7, export=True)
    report = fairness_report(bt, "recent_counts", groups, "majority", n_boot=50)
    assert report["groups"] == ["A", "B"]
    assert sum(r["population_share"] for r in report["population"].values()) == (
        pytest.approx(1.0))
    fair = report["fair_option"]
    for cov in ("1%", "5%"):
        if fair[cov]["windows_met"] == report["windows"]:
            assert fair[cov]["disparity_fair"] <= 1.25 + 1e-6
        assert fair[cov]["pai_fair"] <= fair[cov]["pai_plain"] * 1.5
    bands = [p["band"] for p in report["tradeoff"]]
    assert bands[0] is None and [0.8, 1.25] in bands
    assert set(report["accuracy"]["5%"]) == {"A", "B"}
