"""Plain or fairness-aware patrol areas on the map, the ranked table, the exports and the API;
each read records the choice (predictions.forecasts.patrol)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from audit.events import Action
from predictions.areas.actions import do_update_layer, do_upload_layer
from predictions.models import Forecast, ForecastCell
from tests.test_forecast_viewer import last, with_purpose


@pytest.fixture
def halves(world):
    """A forecast by hand over the synthetic city's 20 x 20 cells: the left half is tract A
    (1,000 residents, group a), the right half tract B (1,000, group b), every cell of a
    tract holds the same residents; every left cell scores above every right cell.

    Ten plain cells are all in A: A's exposure ratio is 2. Within the band 0.8-1.25 a choice
    of ten needs 4 to 6 cells of A (ratio 2 x n_A / 10); the most risk is 6 of A (the best
    six, ranks 1-6) and 4 of B (the best four of B, ranks 201-204)."""
    cache.clear()
    base = world.forecast
    spec = base.grid
    rows = list(base.cells.values("cell", "col", "row", "geometry"))
    cols = sorted({r["col"] for r in rows})
    lines = sorted({r["row"] for r in rows})
    assert (len(cols), len(lines)) == (20, 20)
    size, ox, oy = spec["cell_size"], spec["origin_x"], spec["origin_y"]
    mid = cols[0] + 10
    x0, xm, x1 = ox + cols[0] * size, ox + mid * size, ox + (cols[-1] + 1) * size
    y0, y1 = oy + lines[0] * size, oy + (lines[-1] + 1) * size

    def tract(name, xa, xb, a, b):
        return {"type": "Feature",
                "properties": {"name": name, "total_pop": 1000, "group_a": a, "group_b": b},
                "geometry": {"type": "Polygon", "coordinates": [[[xa, y0], [xb, y0], [xb, y1],
                                                                 [xa, y1], [xa, y0]]]}}

    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": spec["crs"]}}, "features": [tract("A", x0, xm, 1000, 0),
                                            tract("B", xm, x1, 0, 1000)]}
    layer = do_upload_layer(world.alpha, name="Halves", file_name="halves.geojson",
                            data=json.dumps(doc).encode(), acting_user=world.anna)
    do_update_layer(layer, acting_user=world.anna, use_as_covariates=False,
                    use_for_fairness=True, population_attribute="total_pop", band=[0.8, 1.25],
                    groupings=[{"name": "Majority group", "kind": "majority",
                                "columns": ["group_a", "group_b"]}])
    left = sorted((r for r in rows if r["col"] < mid), key=lambda r: r["cell"])
    right = sorted((r for r in rows if r["col"] >= mid), key=lambda r: r["cell"])
    forecast = Forecast.objects.create(
        agency=world.alpha, model=base.model, run=base.run,
        window_start=base.window_start + timedelta(days=1), horizon_days=base.horizon_days,
        grid=spec, n_cells=400, fairness={})
    ForecastCell.objects.bulk_create(
        ForecastCell(forecast=forecast, cell=r["cell"], col=r["col"], row=r["row"],
                     rank=i + 1, score=(3.0 if i < 200 else 2.0) - i * 1e-3,
                     expected_count=None, geometry=r["geometry"])
        for i, r in enumerate(left + right))
    yield forecast
    cache.clear()


FAIR_RANKS = [1, 2, 3, 4, 5, 6, 201, 202, 203, 204]


def cells_url(forecast, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("forecast-cells", args=["alpha", forecast.pk]) + "?" + query


def test_it_flags_other_cells_where_the_fairness_band_binds(world, halves):
    client = with_purpose(world)
    plain = json.loads(client.get(cells_url(halves, cells=10)).content)
    fair = json.loads(client.get(cells_url(halves, cells=10, selection="fair")).content)
    assert (plain["selection"], plain["flagged_ranks"]) == ("plain", list(range(1, 11)))
    assert (fair["selection"], fair["flagged_ranks"]) == ("fair", FAIR_RANKS)
    assert fair["band"] == [0.8, 1.25] and fair["flagged"] == 10


def test_the_map_page_shows_the_fair_selection_and_its_exposure(world, halves):
    client = with_purpose(world)
    page = client.get(reverse("forecast-map", args=["alpha"]),
                      {"model": halves.model_id, "date": halves.window_start.isoformat(),
                       "cells": 10, "selection": "fair"}).content.decode()
    assert '<option value="fair" selected>' in page
    assert "4 of the 10 cells differ from the plain top cells" in page
    assert "every group of residents within 0.8–1.25" in page
    # the exposure ratios by hand: 6 of 10 flagged cells' residents in A (half of all)
    # plain: all ten in A (ratio 2, B none); fair: 6 of 10 flagged cells' residents in A
    assert "<th scope=\"row\">group a</th><td>2.00</td><td>1.20</td>" in page
    assert "<th scope=\"row\">group b</th><td>0.00</td><td>0.80</td>" in page


def test_the_table_the_exports_and_the_map_agree(world, halves):
    client = with_purpose(world)
    query = {"model": halves.model_id, "date": halves.window_start.isoformat(), "cells": 10,
             "selection": "fair"}
    page = client.get(reverse("forecast-map", args=["alpha"]), query).content.decode()
    table = [int(r) for r in __import__("re").findall(r'data-rank="(\d+)"', page)]
    layer = json.loads(client.get(cells_url(halves, cells=10, selection="fair")).content)
    export = reverse("forecast-export", args=["alpha", halves.pk, "csv"])
    rows = list(csv.DictReader(io.StringIO(
        client.get(export, {"cells": 10, "selection": "fair"}).content.decode())))
    geo = json.loads(client.get(reverse("forecast-export", args=["alpha", halves.pk, "geojson"]),
                                {"cells": 10, "selection": "fair"}).content)
    assert table == layer["flagged_ranks"] == FAIR_RANKS
    assert [int(r["rank"]) for r in rows] == FAIR_RANKS
    assert {r["selection"] for r in rows} == {"fair"}
    assert sorted(f["properties"]["rank"] for f in geo["features"]) == FAIR_RANKS
    assert geo["flagged_ranks"] == FAIR_RANKS


def test_each_read_records_the_selection(world, halves):
    client = with_purpose(world)
    client.get(reverse("forecast-export", args=["alpha", halves.pk, "csv"]),
               {"cells": 10, "selection": "fair"})
    details = last(Action.FORECAST_EXPORT).details
    assert details["selection"] == "fair"
    assert details["band"] == [0.8, 1.25] and details["band_met"] is True
    assert details["swapped"] == 4 and details["fairness_layer"] == "Halves"
    client.get(cells_url(halves, cells=10))
    assert last(Action.FORECAST_MAP_LAYER).details["selection"] == "plain"
    client.get(cells_url(halves, cells=10, selection="fair"))
    assert last(Action.FORECAST_MAP_LAYER).details["selection"] == "fair"


def test_the_oversight_trail_shows_the_selection(world, halves):
    with_purpose(world).get(cells_url(halves, cells=10, selection="fair"))
    page = world.client_for("carol").get(reverse("oversight-home")).content.decode()
    assert "fair selection, band 0.8–1.25" in page


def test_the_api_reads_the_fair_selection(world, halves):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.victor)
    url = reverse("api-forecast-cells", args=["alpha", halves.pk])
    # 10 of 400 cells: coverage 0.025
    data = json.loads(client.get(url, {"purpose": "analysis", "coverage": "0.025",
                                       "selection": "fair"}).content)
    assert data["flagged_ranks"] == FAIR_RANKS
    assert last(Action.FORECAST_API_CELLS).details["selection"] == "fair"
    bad = client.get(url, {"purpose": "analysis", "selection": "fairest"})
    assert bad.status_code == 400 and "selection" in bad.json()


@pytest.mark.parametrize("value", ["fairest", "PLAIN", "fair\x01"])
def test_an_unknown_selection_is_a_clear_400(world, value):
    forecast = world.forecast
    client = with_purpose(world)
    urls = [reverse("forecast-map", args=["alpha"]),
            reverse("forecast-cells", args=["alpha", forecast.pk]),
            reverse("forecast-export", args=["alpha", forecast.pk, "csv"]),
            reverse("forecast-export", args=["alpha", forecast.pk, "geojson"])]
    for url in urls:
        response = client.get(url, {"selection": value})
        assert response.status_code == 400, url


def test_fair_without_a_fairness_layer_is_a_clear_400(world):
    forecast = world.forecast
    client = with_purpose(world)
    response = client.get(reverse("forecast-cells", args=["alpha", forecast.pk]),
                          {"selection": "fair"})
    assert response.status_code == 400
    page = client.get(reverse("forecast-map", args=["alpha"])).content.decode()
    assert '<option value="fair" disabled>' in page
