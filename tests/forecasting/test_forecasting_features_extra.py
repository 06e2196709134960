"""Optional feature families: leading indicators, wide near-repeat rings, kernel densities."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import Events, Grid
from predictions.forecasting.features import CountHistory, build_features

T = np.datetime64("2021-03-01T00:00:00")
DAY = np.timedelta64(1, "D")
DAY0 = np.datetime64("2020-01-01")
N_DAYS = int((T.astype("datetime64[D]") - DAY0) // DAY)  # the origin: T


def events_at(rows: list[tuple[float, float, float]], cat: str) -> Events:
    """Events at (x, y, days before T) in category ``cat``."""
    arr = np.array(rows, float)
    times = T - np.round(arr[:, 2] * 86400).astype("timedelta64[s]")
    return Events(times, arr[:, 0], arr[:, 1], cat)


@pytest.fixture
def grid():
    return Grid("EPSG:32615", 100.0, 0.0, 0.0, nx=21, ny=21)


def centre(grid: Grid, col: int, row: int) -> tuple[float, float]:
    return (grid.origin_x + (col + 0.5) * grid.cell_size,
            grid.origin_y + (row + 0.5) * grid.cell_size)


def features(grid: Grid, ev: Events, cells: np.ndarray, origin: int = N_DAYS, **extra):
    others = {c: ev.of_category(c) for c in extra.get("leading", ())}
    hist = CountHistory.build(grid, ev.of_category("burglary"), ev, DAY0, N_DAYS + 30,
                              np.arange(grid.n_cells), others=others)
    x, names = build_features(hist, np.array([origin]), 7, cells, lags=(7, 28, 365), **extra)
    return dict(zip(names, x.T, strict=True))


def test_it_counts_other_categories_in_the_cell_and_around_it(grid):
    # theft in cell (10, 10) 3 and 100 days ago, and in its neighbour (11, 10) 5 days ago
    x, y = centre(grid, 10, 10)
    ev = events_at([(x, y, 2.5), (x, y, 99.5), (x + 100, y, 4.5)], "theft").concat(
        events_at([(x, y, 1.5)], "burglary"))
    cells = np.array([10 * 21 + 10, 10 * 21 + 11, 10 * 21 + 13])
    f = features(grid, ev, cells, leading=("theft",), lead_lags=(28, 365))
    assert f["lead_theft_cell_28d"] == pytest.approx([1, 1, 0], abs=1e-5)
    assert f["lead_theft_cell_365d"] == pytest.approx([2, 1, 0], abs=1e-5)
    assert f["lead_theft_n3_28d"] == pytest.approx([2, 2, 0], abs=1e-5)
    assert f["lead_theft_n3_365d"] == pytest.approx([3, 3, 0], abs=1e-5)
    assert "lead_burglary_cell_28d" not in f  # only the categories asked for


def test_it_counts_target_events_in_wider_rings(grid):
    # a burglary 5 cells east of (10, 10), 10 days ago: inside the 15 x 15 box, not the 7 x 7
    x, y = centre(grid, 15, 10)
    ev = events_at([(x, y, 9.5)], "burglary")
    cells = np.array([10 * 21 + 10, 10 * 21 + 3])  # 5 and 12 cells away
    f = features(grid, ev, cells, rings=(15,))
    assert f["tgt_n15_28d"] == pytest.approx([1, 0], abs=1e-5)
    assert f["tgt_n15_365d"] == pytest.approx([1, 0], abs=1e-5)
    # 10 days ago is outside the last 7 days
    assert f["tgt_n15_7d"] == pytest.approx([0, 0], abs=1e-5)
    assert f["tgt_n7_28d"] == pytest.approx([0, 0], abs=1e-5)


def test_it_smooths_decayed_counts_with_a_gaussian_kernel(grid):
    # one burglary in cell (10, 10) on the day before the origin: decayed weight 1
    x, y = centre(grid, 10, 10)
    ev = events_at([(x, y, 0.5)], "burglary")
    cells = np.array([10 * 21 + 10, 10 * 21 + 11, 11 * 21 + 11, 10 * 21 + 14])
    f = features(grid, ev, cells, smooth=(1.0,))
    k = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    k /= k.sum()  # the normalised 1-D kernel, sigma 1 cell, truncated at 4 sigma
    want = [k[4] * k[4], k[4] * k[5], k[5] * k[5], k[4] * k[8]]
    assert f["tgt_kde1c_decay365d"] == pytest.approx(want, rel=1e-5)


def test_it_moves_no_feature_when_events_at_or_after_the_origin_change(grid):
    rng = np.random.default_rng(5)

    def random_events(n: int, lo: float, hi: float) -> Events:
        out = None
        for cat in ("burglary", "theft", "assault"):
            ev = events_at([(rng.uniform(0, 2100), rng.uniform(0, 2100), rng.uniform(lo, hi))
                            for _ in range(n)], cat)
            out = ev if out is None else out.concat(ev)
        assert out is not None
        return out

    past = random_events(150, 0.01, 400)
    future = random_events(150, -25, 0.0)  # at T or up to 25 days later
    future = future.concat(events_at([(1050, 1050, 0.0)], "burglary"))  # exactly at T
    cells = np.arange(grid.n_cells)
    extra = {"leading": ("theft", "assault"), "rings": (15,), "smooth": (0.5, 2.0)}
    clean = features(grid, past, cells, **extra)
    moved = features(grid, past.concat(future), cells, **extra)
    assert clean.keys() == moved.keys()
    for name in clean:
        np.testing.assert_array_equal(clean[name], moved[name], err_msg=name)
    # and a later origin does see them
    later = features(grid, past.concat(future), cells, origin=N_DAYS + 26, **extra)
    assert not np.array_equal(clean["lead_theft_cell_28d"], later["lead_theft_cell_28d"])


def test_it_averages_the_regressors_of_a_mean_regressor():
    from sklearn.dummy import DummyRegressor

    from predictions.forecasting.ml import MeanRegressor

    model = MeanRegressor(estimators=(DummyRegressor(strategy="constant", constant=1.0),
                                      DummyRegressor(strategy="constant", constant=4.0)))
    x = np.zeros((3, 2))
    assert model.fit(x, np.zeros(3), sample_weight=np.ones(3)) is model
    assert model.predict(x).tolist() == [2.5, 2.5, 2.5]


def test_it_leaves_the_target_out_of_its_leading_indicators(grid):
    from predictions.forecasting import make_forecaster

    rng = np.random.default_rng(1)
    ev = None
    for cat in ("burglary", "theft", "robbery"):
        part = events_at([(rng.uniform(0, 2100), rng.uniform(0, 2100), rng.uniform(1, 300))
                          for _ in range(80)], cat)
        ev = part if ev is None else ev.concat(part)
    f = make_forecaster("glm_forest_context", grid=grid, target="burglary", n_origins=3,
                        estimator_params={"forest": {"n_estimators": 3}}).fit(ev, T)
    f.feature_rows(T, 7)
    names = set(f.feature_names_)
    assert {"lead_theft_cell_28d", "lead_robbery_n3_365d", "tgt_n15_28d",
            "tgt_kde1c_decay365d"} <= names
    assert not any(n.startswith("lead_burglary") for n in names)
    assert f.predict(T, 7).min() >= 0
