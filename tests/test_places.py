"""Where a cell is: its centre and the reference area (neighbourhood, tract) holding it, in
the popup, the ranked table and the exports; the reference outlines under the cells."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
import shapely
from shapely.geometry import shape

from predictions.areas.actions import LayerError, do_update_layer
from predictions.demo import seed_tracts
from predictions.forecasting import Grid
from predictions.forecasting.grid import xy_to_lonlat
from tests.test_forecast_viewer import with_purpose


def make_reference(world, layer=None):
    layer = layer or seed_tracts(world.alpha, world.anna)
    return do_update_layer(layer, acting_user=world.anna, use_as_covariates=False,
                           use_for_fairness=layer.use_for_fairness,
                           population_attribute=layer.population_attribute,
                           groupings=layer.groupings, band=layer.fairness_band,
                           use_as_reference=True)


def expected_place(layer, forecast, cell: int) -> tuple[str, float, float]:
    """The tract holding the cell's centre, found independently of the portal's code."""
    grid = Grid.from_spec(forecast.grid)
    x, y = grid.cell_centres()
    lon, lat = xy_to_lonlat(grid.crs, x[[cell]], y[[cell]])
    point = shapely.Point(float(lon[0]), float(lat[0]))
    for feature in json.loads(layer.geojson)["features"]:
        if shape(feature["geometry"]).contains(point):
            return feature["properties"]["label"], float(lat[0]), float(lon[0])
    return "", float(lat[0]), float(lon[0])


def nearest_address(agency, lat: float, lon: float) -> str:
    """The recorded address whose located incidents' mean position is nearest, by brute
    force over the rows (independently of the portal's index)."""
    from collections import defaultdict

    from predictions.models import Incident

    points = defaultdict(list)
    for address, x, y in Incident.objects.filter(
            agency=agency, cancelled=False, location_withheld=False, lon__isnull=False
    ).exclude(address="").values_list("address", "lon", "lat"):
        points[address].append((x, y))
    scale = math.cos(math.radians(lat))

    def distance(item):
        xs, ys = zip(*item[1], strict=True)
        return math.hypot((sum(xs) / len(xs) - lon) * scale, sum(ys) / len(ys) - lat)

    return min(points.items(), key=distance)[0] if points else ""


def test_the_popup_names_the_area_and_the_centre_of_the_cell(world):
    forecast = world.forecast
    layer = make_reference(world)
    client = with_purpose(world, "anna")
    cell = client.get(f"/a/alpha/forecast/{forecast.pk}/cell/1/").json()
    place, lat, lon = expected_place(layer, forecast, cell["cell"])
    assert place.startswith("Tract ")
    assert (cell["place"], cell["lat"], cell["lon"]) == (place, round(lat, 5), round(lon, 5))
    assert cell["address"] == nearest_address(world.alpha, lat, lon) != ""


def test_the_ranked_table_and_the_csv_and_geojson_exports_say_where(world):
    forecast = world.forecast
    layer = make_reference(world)
    client = with_purpose(world, "anna")
    page = client.get(f"/a/alpha/forecast/?model={forecast.model_id}").content.decode()
    top = forecast.cells.get(rank=1)
    place, lat, lon = expected_place(layer, forecast, top.cell)
    address = nearest_address(world.alpha, lat, lon)
    assert address
    assert (f"<td>{place}</td><td>{address}</td><td>{round(lat, 5)}, {round(lon, 5)}</td>"
            in page)
    assert f'data-reference-url="/a/alpha/layers/{layer.pk}/outlines.geojson"' in page
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/a/alpha/forecast/{forecast.pk}/export.csv").content.decode())))
    assert rows[0]["place"] == place and float(rows[0]["lat"]) == round(lat, 5)
    assert rows[0]["nearest_address"] == address
    assert all(r["place"].startswith("Tract ") for r in rows)
    features = client.get(f"/a/alpha/forecast/{forecast.pk}/export.geojson").json()["features"]
    assert features[0]["properties"]["place"] == place


def test_without_a_reference_layer_cells_still_carry_their_centre(world):
    forecast = world.forecast
    client = with_purpose(world, "anna")
    cell = client.get(f"/a/alpha/forecast/{forecast.pk}/cell/1/").json()
    grid = Grid.from_spec(forecast.grid)
    x, y = grid.cell_centres()
    lon, lat = xy_to_lonlat(grid.crs, x[[cell["cell"]]], y[[cell["cell"]]])
    assert (cell["place"], cell["lat"], cell["lon"]) == (
        "", round(float(lat[0]), 5), round(float(lon[0]), 5))
    page = client.get(f"/a/alpha/forecast/?model={forecast.model_id}").content.decode()
    assert 'data-reference-url=""' in page


def test_the_outlines_carry_names_and_nothing_else(world):
    layer = make_reference(world)
    data = world.client_for("victor").get(
        f"/a/alpha/layers/{layer.pk}/outlines.geojson").json()
    assert len(data["features"]) == layer.n_features
    assert {tuple(f["properties"]) for f in data["features"]} == {("name",)}


def test_one_reference_layer_per_agency_and_only_polygons(world):
    first = make_reference(world)
    points = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "name": "Station"}, "geometry": {"type": "Point", "coordinates": [-90.2, 38.6]}}]}
    from predictions.areas.actions import do_upload_layer

    stations = do_upload_layer(world.alpha, name="Stations", file_name="s.geojson",
                               data=json.dumps(points).encode(), acting_user=world.anna)
    with pytest.raises(LayerError, match="polygons"):
        make_reference(world, stations)
    second = do_upload_layer(world.alpha, name="Copy", file_name="c.geojson",
                             data=first.geojson.encode(), acting_user=world.anna)
    make_reference(world, second)
    first.refresh_from_db()
    assert not first.use_as_reference


def test_both_maps_take_their_base_map_and_attribution_from_leaflet_config(world, settings):
    from django.core.cache import cache

    from tests.public_samples import publish_alpha

    settings.LEAFLET_CONFIG = {"TILES": "http://127.0.0.1:8089/{z}/{x}/{y}.png",
                               "ATTRIBUTION_PREFIX": "© Local tiles"}
    forecast = world.forecast
    page = with_purpose(world, "anna").get(
        f"/a/alpha/forecast/?model={forecast.model_id}").content.decode()
    assert 'data-tiles="http://127.0.0.1:8089/{z}/{x}/{y}.png"' in page
    assert 'data-attribution="© Local tiles"' in page and 'id="cell-opacity"' in page
    publish_alpha(world)
    cache.clear()
    public = world.client_for("anonymous").get("/public/alpha/").content.decode()
    config = json.loads(public.split('id="public-config" type="application/json">')[1]
                        .split("</script>")[0])
    assert config["tiles"] == {"url": "http://127.0.0.1:8089/{z}/{x}/{y}.png",
                               "attribution": "© Local tiles"}


def test_without_tiles_the_maps_stay_offline(world):
    forecast = world.forecast
    page = with_purpose(world, "anna").get(
        f"/a/alpha/forecast/?model={forecast.model_id}").content.decode()
    assert 'data-tiles=""' in page


def test_the_demo_city_names_its_cells_by_neighbourhood(world):
    from predictions.bridge import cell_places
    from predictions.demo import NEIGHBOURHOOD_NAMES, seed_neighbourhoods

    forecast = world.forecast  # the synthetic city
    layer = seed_neighbourhoods(world.alpha, world.anna)
    assert layer.use_as_reference and layer.n_features == 9
    cells = list(forecast.cells.values_list("cell", flat=True))
    names = {p["place"] for p in cell_places(world.alpha, forecast.grid, cells)}
    assert names == set(NEIGHBOURHOOD_NAMES)  # every cell lies in one, all nine are used
