"""Grid construction, indexing, active area and UTM choice; Events helpers."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import Events, Grid, utm_crs_for
from predictions.forecasting.grid import check_cell_size, xy_to_lonlat

STL_LON, STL_LAT = -90.2, 38.63


def square_lonlat(lon0: float, lat0: float, d: float) -> dict:
    ring = [[lon0, lat0], [lon0 + d, lat0], [lon0 + d, lat0 + d], [lon0, lat0 + d], [lon0, lat0]]
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


@pytest.mark.parametrize("size", [49.9, 1000.1, 0, -150, float("nan")])
def test_cell_size_out_of_bounds(size):
    with pytest.raises(ValueError):
        check_cell_size(size)
    with pytest.raises(ValueError):
        Grid("EPSG:32615", size, 0.0, 0.0, 3, 3)


@pytest.mark.parametrize("size", [50, 150, 1000])
def test_cell_size_in_bounds(size):
    assert Grid("EPSG:32615", size, 0.0, 0.0, 3, 3).cell_size == float(size)


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (STL_LON, STL_LAT, "EPSG:32615"),  # St. Louis: UTM 15N
        (-0.1, 51.5, "EPSG:32630"),  # London
        (151.2, -33.9, "EPSG:32756"),  # Sydney: south
        (-180.0, 0.0, "EPSG:32601"),
        (179.99, 10.0, "EPSG:32660"),
    ],
)
def test_utm_choice(lon, lat, crs):
    assert utm_crs_for(lon, lat) == crs


def test_from_lonlat_picks_utm_and_covers_points():
    rng = np.random.default_rng(0)
    lon = STL_LON + rng.uniform(-0.05, 0.05, 500)
    lat = STL_LAT + rng.uniform(-0.05, 0.05, 500)
    g = Grid.from_lonlat(lon, lat, cell_size=200)
    assert g.crs == "EPSG:32615"
    x, y = g.project(lon, lat)
    idx = g.cell_index(x, y)
    assert (idx >= 0).all()
    assert g.origin_x % 200 == 0 and g.origin_y % 200 == 0
    # ~8.7 km x 11.1 km at 200 m
    assert 40 <= g.nx <= 46 and 52 <= g.ny <= 58
    g2 = Grid.from_lonlat(lon, lat, cell_size=200, origin_offset=(50.0, 30.0))
    assert (g2.origin_x - 50.0) % 200 == pytest.approx(0.0)
    assert (g2.origin_y - 30.0) % 200 == pytest.approx(0.0)


def test_index_round_trip_and_row_major():
    g = Grid("EPSG:32615", 100.0, 1000.0, 2000.0, nx=7, ny=5)
    idx = np.arange(g.n_cells)
    cx, cy = g.cell_centres()
    assert np.array_equal(g.cell_index(cx, cy), idx)
    col, row = g.index_to_col_row(idx)
    assert np.array_equal(row * g.nx + col, idx)
    # corner conventions: lower-left corner is in cell 0, (x+100, y) in cell 1, (x, y+100) in nx
    assert g.cell_index(
        np.array([1000.0, 1100.0, 1000.0]), np.array([2000.0, 2000.0, 2100.0])
    ).tolist() == [0, 1, 7]
    outside = g.cell_index(
        np.array([999.9, 1700.0, 1200.0, np.nan]), np.array([2000.0, 2000.0, 2500.0, 0.0])
    )
    assert outside.tolist() == [-1, -1, -1, -1]


def test_cell_polygons_round_trip_lonlat():
    g = Grid("EPSG:32615", 150.0, 740000.0, 4280000.0, nx=4, ny=3)
    polys = g.cell_polygons_lonlat(np.array([0, 5, 11]))
    assert [p["type"] for p in polys] == ["Polygon"] * 3
    ring = np.array(polys[1]["coordinates"][0])
    assert ring.shape == (5, 2) and np.allclose(ring[0], ring[-1])
    x, y = g.project(ring[:, 0], ring[:, 1])
    col, row = g.index_to_col_row(np.array([5]))
    assert x.min() == pytest.approx(740000.0 + col[0] * 150.0, abs=0.05)
    assert y.max() == pytest.approx(4280000.0 + (row[0] + 1) * 150.0, abs=0.05)
    assert g.cell_index(np.array([x[:4].mean()]), np.array([y[:4].mean()]))[0] == 5


def test_boundary_active_mask_is_cells_with_centre_inside():
    boundary = square_lonlat(STL_LON, STL_LAT, 0.02)
    g = Grid.from_lonlat(np.array([]), np.array([]), cell_size=100, boundary=boundary)
    assert g.crs == "EPSG:32615"
    mask = g.boundary_mask()
    assert g.active_mask() is not None and np.array_equal(g.active_mask(), mask)
    cx, cy = g.cell_centres()
    lon, lat = xy_to_lonlat(g.crs, cx, cy)
    inside = (lon > STL_LON) & (lon < STL_LON + 0.02) & (lat > STL_LAT) & (lat < STL_LAT + 0.02)
    assert np.array_equal(mask, inside)
    assert 0.6 * g.n_cells < mask.sum() < g.n_cells
    # area of the active cells matches the polygon area (~1.74 km x 2.22 km) within a few cells
    assert mask.sum() * 0.01 == pytest.approx(g.boundary.area / 1e6, rel=0.05)


def test_active_mask_without_boundary_uses_past_events():
    g = Grid("EPSG:32615", 100.0, 0.0, 0.0, nx=4, ny=4)
    ev = Events(
        np.array(["2020-01-01T10:00", "2020-01-02T00:00", "2020-01-03"], dtype="datetime64[s]"),
        np.array([50.0, 150.0, 350.0]),
        np.array([50.0, 50.0, 350.0]),
        np.array(["a", "b", "a"]),
    )
    mask = g.active_mask(ev.before("2020-01-02"))
    assert np.flatnonzero(mask).tolist() == [0]
    mask = g.active_mask(ev.before("2020-01-02T00:00:01"))
    assert np.flatnonzero(mask).tolist() == [0, 1]
    with pytest.raises(ValueError):
        g.active_mask(None)


def test_events_helpers():
    ev = Events(
        np.array(["2020-01-03", "2020-01-01", "2020-01-02"], dtype="datetime64[s]"),
        [1.0, 2.0, 3.0],
        [4.0, 5.0, 6.0],
        np.array(["burglary", "theft", "burglary"]),
    )
    assert len(ev.of_category("burglary")) == 2
    assert len(ev.of_category(["burglary", "theft"])) == 3
    assert len(ev.of_category(None)) == 3
    assert ev.before("2020-01-02").x.tolist() == [2.0]
    assert ev.between("2020-01-02", "2020-01-04").x.tolist() == [1.0, 3.0]
    assert ev.sorted().x.tolist() == [2.0, 3.0, 1.0]
    with pytest.raises(ValueError):
        Events(np.array(["2020-01-01"], dtype="datetime64[s]"), [1.0, 2.0], [1.0], ["a"])
