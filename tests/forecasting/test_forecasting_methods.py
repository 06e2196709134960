"""Forecasters: registry, hand-checked baselines, speed, features, ensemble, backtest export."""

from __future__ import annotations

import time

import numpy as np
import pytest

from predictions.forecasting import (
    METHODS,
    Events,
    Grid,
    make_forecaster,
    rolling_origins,
    run_backtest,
)
from predictions.forecasting.features import CountHistory, build_features, build_labels
from predictions.forecasting.kernels import gaussian_kernel, inverse_distance_kernel

T = np.datetime64("2021-03-01T00:00:00")
DAY = np.timedelta64(1, "D")


def events_at(cells_xy_days: list[tuple[float, float, float]], cat: str = "burglary") -> Events:
    """Events at (x, y, days before T)."""
    arr = np.array(cells_xy_days, float)
    times = T - np.round(arr[:, 2] * 86400).astype("timedelta64[s]")
    return Events(times, arr[:, 0], arr[:, 1], cat)


@pytest.fixture
def small_grid():
    return Grid("EPSG:32615", 100.0, 0.0, 0.0, nx=20, ny=20)


def test_registry_builds_every_method(small_grid):
    assert {
        "uniform",
        "recent_counts",
        "kde",
        "retrospective_hotspot",
        "prospective_hotspot",
        "sepp",
        "hgb_poisson",
        "random_forest",
        "poisson_glm",
        "logistic",
        "mlp",
        "ensemble",
    } <= set(METHODS)
    for name in METHODS:
        assert make_forecaster(name, grid=small_grid).grid is small_grid
    with pytest.raises(ValueError):
        make_forecaster("nope", grid=small_grid)
    with pytest.raises(TypeError):
        make_forecaster("kde")


def test_predict_shapes_and_active_area(city, grid, day):
    t = city.start + 500 * day
    f = make_forecaster("kde", grid=grid).fit(city.events, t)
    full = f.predict_grid(t, 7)
    assert full.shape == (grid.n_cells,)
    assert f.predict(t, 7).shape == (int(f.active_.sum()),)
    assert np.array_equal(f.predict(t, 7), full[f.active_])
    # expected counts: the active total equals the recent rate x horizon
    rate = len(city.events.between(t - 365 * day, t)) / 365
    assert f.predict(t, 7).sum() == pytest.approx(7 * rate, rel=1e-6)


def test_recent_counts_counts_the_window(small_grid):
    ev = events_at([(50, 50, 1), (50, 50, 27.9), (50, 50, 29), (150, 50, 3)])
    f = make_forecaster("recent_counts", grid=small_grid, days=28).fit(ev, T)
    scores = f.predict_grid(T, 28)
    assert scores[0] == 2 and scores[1] == 1 and scores.sum() == 3
    assert f.predict_grid(T, 7)[0] == pytest.approx(0.5)


def test_prospective_hotspot_weights_hand_computed(small_grid):
    # one event in cell (10, 10), 10 days old -> week 1 -> time weight 1/2
    ev = events_at([(1050, 1050, 10.0)])
    f = make_forecaster("prospective_hotspot", grid=small_grid, bandwidth=400.0, weeks=8)
    field = f.fit(ev, T).field_.reshape(20, 20)
    assert field[10, 10] == pytest.approx(0.5)
    assert field[10, 11] == pytest.approx(0.5 / 2)  # 1 cell away
    assert field[11, 11] == pytest.approx(0.5 / (1 + np.sqrt(2)))
    assert field[10, 14] == pytest.approx(0.5 / 5)  # 400 m: inside the bandwidth
    assert field[10, 15] == 0.0 and field[13, 13] == 0.0  # 500 m and 424 m: outside
    # older than 8 weeks: ignored
    old = make_forecaster("prospective_hotspot", grid=small_grid).fit(
        events_at([(1050, 1050, 57)]), T
    )
    assert old.field_.sum() == 0.0


def test_kde_prefers_recent_events(small_grid):
    ev = events_at([(550, 550, 2.0), (1550, 1550, 200.0)])
    f = make_forecaster("kde", grid=small_grid, bandwidth=150.0, decay_days=30.0).fit(ev, T)
    s = f.predict_grid(T, 7).reshape(20, 20)
    assert s[5, 5] > s[15, 15] > 0
    assert s[5, 5] / s[15, 15] == pytest.approx(np.exp((200 - 2) / 30), rel=1e-3)
    k = gaussian_kernel(150.0, 100.0)
    assert k.sum() == pytest.approx(1.0) and k.shape == (11, 11)
    assert inverse_distance_kernel(400.0, 100.0)[4, 4] == 1.0


def test_prospective_hotspot_is_fast_on_6000_cells():
    g = Grid("EPSG:32615", 150.0, 0.0, 0.0, nx=80, ny=75)  # 6,000 cells
    rng = np.random.default_rng(0)
    n = 20000
    ev = Events(
        T - rng.integers(1, 400 * 86400, n).astype("timedelta64[s]"),
        rng.uniform(0, 12000, n),
        rng.uniform(0, 11250, n),
        "burglary",
    )
    f = make_forecaster("prospective_hotspot", grid=g)
    f.fit(ev, T)  # warm-up
    t0 = time.perf_counter()
    f.fit(ev, T)
    f.predict(T, 1)
    assert time.perf_counter() - t0 < 0.5  # typically a few milliseconds


def test_features_match_hand_counts(small_grid):
    # target events in cell 0 on days -1, -3, -10; another category in cell 1 on day -2
    ev = events_at([(50, 50, 0.5), (50, 50, 2.5), (50, 50, 9.5)]).concat(
        events_at([(150, 50, 1.5)], cat="theft")
    )
    day0 = np.datetime64("2021-01-01")
    n_days = int((T.astype("datetime64[D]") - day0) // DAY)
    cols = np.arange(small_grid.n_cells)
    hist = CountHistory.build(small_grid, ev.of_category("burglary"), ev, day0, n_days, cols)
    cells = np.array([0, 1, 21])
    x, names = build_features(hist, np.array([n_days]), 7, cells, lags=(1, 7, 28))
    f = dict(zip(names, x.T, strict=True))
    assert f["tgt_cell_1d"].tolist() == [1, 0, 0]
    assert f["tgt_cell_7d"].tolist() == [2, 0, 0]
    assert f["tgt_cell_28d"].tolist() == [3, 0, 0]
    assert f["all_cell_7d"].tolist() == [2, 1, 0]
    assert f["tgt_n3_28d"].tolist() == [3, 3, 3]  # cells 1 and 21 neighbour cell 0
    assert f["all_n3_1d"].tolist() == [1, 1, 1]
    assert f["tgt_cell_days_since"].tolist() == [0, 365, 365]
    assert f["tgt_n3_days_since"].tolist() == [0, 0, 0]
    assert f["tgt_cell_decay7d"][0] == pytest.approx(1 + np.exp(-2 / 7) + np.exp(-9 / 7), rel=1e-5)
    assert f["dow"][0] == 0  # 2021-03-01 is a Monday
    # labels count [o, o + h): 7 days back -> events of days -1 and -3 (not -10); an origin
    # 2 days back -> only the event of day -1
    y = build_labels(hist, np.array([n_days - 7, n_days - 2]), 2, cells)
    assert y.tolist() == [0, 0, 0, 1, 0, 0]
    y = build_labels(hist, np.array([n_days - 7, n_days - 11]), 7, cells)
    assert y.tolist() == [2, 0, 0, 1, 0, 0]


def test_history_queries_match_a_dense_day_by_day_count(small_grid):
    # given random target and other events over 200 days, some outside the history's columns
    rng = np.random.default_rng(3)
    n = 600
    ev = Events(
        T - rng.integers(0, 260 * 86400, n).astype("timedelta64[s]"),
        rng.uniform(0, 2000, n),
        rng.uniform(0, 2000, n),
        rng.choice(np.array(["burglary", "theft"]), n),
    )
    day0, n_days = T.astype("datetime64[D]") - 200 * DAY, 200
    cols = np.arange(0, small_grid.n_cells, 3)
    hist = CountHistory.build(small_grid, ev.of_category("burglary"), ev, day0, n_days, cols,
                              decays=(5.0,))
    # when the history is asked at a few days, unsorted and repeated, some out of range
    asked = np.array([150, 3, 0, 200, 77, 150, 250, -4])
    # then it agrees with a dense cell x day cube of the same events
    day = (ev.times.astype("datetime64[D]") - day0) // DAY
    cell = small_grid.cell_index(ev.x, ev.y)
    dense = {"tgt": np.zeros((n_days, cols.size)), "all": np.zeros((n_days, cols.size))}
    for d, c, k in zip(day, cell, ev.category, strict=True):
        if 0 <= d < n_days and c in cols:
            j = int(np.searchsorted(cols, c))
            dense["all"][d, j] += 1
            if k == "burglary":
                dense["tgt"][d, j] += 1
    clipped = np.clip(asked, 0, n_days)
    for kind in ("tgt", "all"):
        want = np.array([dense[kind][:o].sum(axis=0) for o in clipped])
        assert np.array_equal(hist.counts_before(kind, asked), want)
        got = hist.window(kind, asked - 30, asked)
        starts = np.clip(asked - 30, 0, n_days)  # both ends are clipped to the history
        want = np.array([dense[kind][a:b].sum(axis=0)
                         for a, b in zip(starts, clipped, strict=True)])
        assert np.array_equal(got, want)
    decay = np.array([
        (dense["tgt"][:o] * np.exp(-(o - 1 - np.arange(o)) / 5.0)[:, None]).sum(axis=0)
        for o in clipped
    ])
    assert np.allclose(hist.decayed(5.0, asked), decay, rtol=1e-5, atol=1e-6)
    last = np.array([
        [max((d for d in range(o) if dense["tgt"][d, j] > 0), default=-np.inf)
         for j in range(cols.size)]
        for o in clipped
    ])
    assert np.array_equal(hist.last_day(asked), last)


def test_ml_covariates_are_used(city, grid, day):
    cov = np.column_stack([city.background_per_cell(grid), np.zeros(grid.n_cells)])
    t = city.start + 500 * day
    f = make_forecaster(
        "poisson_glm",
        grid=grid,
        n_origins=6,
        covariates=cov,
        covariate_names=("true_mu", "zero"),
    ).fit(city.events, t)
    p = f.predict(t, 7)
    assert "cov_true_mu" in f.feature_names_ and np.all(p >= 0)
    with pytest.raises(ValueError):
        make_forecaster(
            "poisson_glm", grid=grid, n_origins=6, covariates=cov, covariate_names=("a",)
        ).fit(city.events, t).predict(t, 7)


def test_ml_label_days_learns_longer_windows_and_scales_back(city, grid, day):
    # given next-day models trained on 7-day labels and on 1-day labels
    t = city.start + 500 * day
    week = make_forecaster("poisson_glm", grid=grid, n_origins=6, horizon_days=1,
                           label_days=7, zero_fraction=1.0).fit(city.events, t)
    one = make_forecaster("poisson_glm", grid=grid, n_origins=6, horizon_days=1,
                          label_days=None, zero_fraction=1.0).fit(city.events, t)
    x = week.feature_rows(t, 1)
    # then the 7-day model learned about seven times the count, and says a seventh of it
    learned = week.models_[1].predict(x)
    ratio = learned.mean() / one.models_[1].predict(one.feature_rows(t, 1)).mean()
    assert 5.0 < ratio < 9.0
    assert np.allclose(week.predict_rows(x, 1), np.maximum(learned, 0.0) / 7.0)
    # and a logistic model turns P(>= 1 in 7 days) into P(>= 1 in 1 day)
    logistic = make_forecaster("logistic", grid=grid, n_origins=6, horizon_days=1,
                               label_days=7).fit(city.events, t)
    p7 = logistic.models_[1].predict_proba(x)[:, 1]
    assert np.allclose(logistic.predict_rows(x, 1), 1.0 - (1.0 - p7) ** (1.0 / 7.0))
    assert np.all(logistic.predict_rows(x, 1) <= p7)


def test_ml_model_reuse_within_refit_period(city, grid, day):
    f = make_forecaster("poisson_glm", grid=grid, n_origins=6, refit_every_days=30)
    t = city.start + 500 * day
    f.fit(city.events, t)
    model = f.models_[7]
    f.fit(city.events, t + 14 * day)
    assert f.models_[7] is model  # kept: trained on older data only
    f.fit(city.events, t + 35 * day)
    assert f.models_[7] is not model


def test_ensemble_share_is_mean_of_member_shares(city, grid, day):
    t = city.start + 500 * day
    e = make_forecaster("ensemble", grid=grid, members=("kde", "recent_counts")).fit(city.events, t)
    kde = make_forecaster("kde", grid=grid).fit(city.events, t).predict(t, 7)
    rc = make_forecaster("recent_counts", grid=grid).fit(city.events, t).predict(t, 7)
    share = (kde / kde.sum() + rc / rc.sum()) / 2
    got = e.predict(t, 7)
    np.testing.assert_allclose(got / got.sum(), share, rtol=1e-9)
    r = make_forecaster("ensemble", grid=grid, members=("kde", "recent_counts"), combine="rank")
    assert r.fit(city.events, t).predict(t, 7).max() <= 1.0


def test_backtest_export_and_windows(city, grid, day):
    starts = rolling_origins(city.start + 600 * day, city.start + 629 * day, 7)
    assert len(starts) == 4 and (starts[1] - starts[0]) == 7 * day
    res = run_backtest(city.events, grid, ["uniform", "kde"], starts, 7, export=True)
    rows = res.export_predictions()
    n_active = int(grid.boundary_mask().sum())
    assert len(rows["score"]) == 3 * 4 * n_active  # uniform, kde, oracle
    assert set(rows["method"]) == {"uniform", "kde", "oracle"}
    assert np.array_equal(rows["row"] * grid.nx + rows["col"], rows["cell"])
    summ = res.summary()
    assert summ["kde"]["n_windows"] == 4
    assert summ["oracle"]["coverage"]["5%"]["pei"] == pytest.approx(1.0)
    assert summ["kde"]["fit_seconds_mean"] >= 0 and summ["kde"]["mean_poisson_deviance"] > 0
    # the oracle's realised events equal the events in the windows inside the active area
    inside = grid.boundary_mask()[grid.cell_index(city.events.x, city.events.y)]
    total = sum(
        len(city.events.subset(inside).between(s, s + 7 * day))
        for s in starts.astype("datetime64[s]")
    )
    assert summ["oracle"]["n_events"] == total


def test_portal_path_lonlat_to_forecast_table_and_geojson(city):
    """lon/lat in, grid + events built as the portal would, ranked table and GeoJSON out."""
    from predictions.forecasting import cells_geojson, forecast_table

    g = Grid.from_lonlat(city.lon, city.lat, cell_size=250)
    assert g.crs == "EPSG:32615"
    ev = Events.from_lonlat(city.events.times, city.lon, city.lat, city.events.category, g)
    assert np.allclose(ev.x, city.events.x, atol=0.01)
    t = city.start + 400 * DAY
    f = make_forecaster("sepp", grid=g, target="burglary").fit(ev, t)
    table = forecast_table(f, t, 7)
    n = int(f.active_.sum())
    assert sorted(table["rank"].tolist()) == list(range(1, n + 1))
    top = table["cell"][table["rank"] == 1][0]
    assert table["score"][table["cell"] == top][0] == table["score"].max()
    gj = cells_geojson(g, table["cell"][:3], {"score": table["score"][:3]})
    assert len(gj["features"]) == 3
    assert gj["features"][0]["properties"]["cell"] == int(table["cell"][0])
    assert isinstance(gj["features"][0]["properties"]["score"], float)


def test_zero_rows_are_subsampled_only_for_a_big_city(grid):
    from predictions.forecasting.ml import SUBSAMPLE_FROM_ROWS

    f = make_forecaster("poisson_glm", grid=grid, zero_fraction=0.25)
    small = np.zeros(1000)
    small[:10] = 1
    rows, weight = f._sample_rows(small)
    assert rows.size == small.size and np.all(weight == 1.0)
    big = np.zeros(2 * SUBSAMPLE_FROM_ROWS)
    big[:100] = 2
    rows, weight = f._sample_rows(big)
    assert set(range(100)) <= set(rows.tolist())  # every row with events
    assert 0.2 < rows.size / big.size < 0.3
    zeros = big[rows] == 0  # weighted back to the zero rows' number: an unbiased mean
    assert weight[zeros].sum() == pytest.approx((big == 0).sum(), rel=0.05)
    assert np.all(weight[~zeros] == 1.0)
