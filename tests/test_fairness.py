"""Area layers, the data screen, covariates, fairness reports and governance packs (portal)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

import numpy as np
import pytest
import shapefile
from django.urls import reverse

from audit.models import AccessEvent
from predictions.areas.actions import LayerError, do_update_layer, do_upload_layer
from predictions.bridge import target_categories
from predictions.demo import synthetic_tracts
from predictions.forecasts.generation import purge_expired_forecasts
from predictions.models import AreaLayer, Forecast
from tests.samples import make_forecast
from tests.test_forecast_viewer import with_purpose

TRACTS_PROJECTED = {
    "type": "FeatureCollection",
    "crs": {"type": "name", "properties": {"name": "EPSG:32615"}},
    "features": [
        {"type": "Feature", "properties": {"name": "T1", "total_pop": 1200, "pct_x": 12.5},
         "geometry": {"type": "Polygon", "coordinates": [[[740000, 4280000], [741000, 4280000],
                                                          [741000, 4281000], [740000, 4281000],
                                                          [740000, 4280000]]]}},
        {"type": "Feature", "properties": {"name": "T2", "total_pop": 800, "pct_x": 40.0},
         "geometry": {"type": "Polygon", "coordinates": [[[741000, 4280000], [742000, 4280000],
                                                          [742000, 4281000], [741000, 4281000],
                                                          [741000, 4280000]]]}},
    ],
}


def _upload(world, data: bytes, name: str = "tracts.geojson", layer_name: str = "Tracts"):
    return do_upload_layer(world.alpha, name=layer_name, file_name=name, data=data,
                           acting_user=world.anna)


def _shapefile_zip() -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON) as w:
        w.field("NAME", "C")
        w.field("POP", "N", decimal=0)
        w.poly([[[740000, 4280000], [740000, 4281000], [741000, 4281000], [741000, 4280000],
                 [740000, 4280000]]])
        w.record("A", 500)
    prj = ('PROJCS["WGS 84 / UTM zone 15N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID['
           '"WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",'
           '0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER['
           '"latitude_of_origin",0],PARAMETER["central_meridian",-93],PARAMETER['
           '"scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER['
           '"false_northing",0],UNIT["metre",1]]')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("tracts/t.shp", shp.getvalue())
        z.writestr("tracts/t.shx", shx.getvalue())
        z.writestr("tracts/t.dbf", dbf.getvalue())
        z.writestr("tracts/t.prj", prj)
    return out.getvalue()


# layers ---------------------------------------------------------------------------------------
def test_it_converts_a_projected_geojson_layer_to_lonlat(world):
    layer = _upload(world, json.dumps(TRACTS_PROJECTED).encode())
    doc = json.loads(layer.geojson)
    lon, lat = doc["features"][0]["geometry"]["coordinates"][0][0]
    assert -91 < lon < -90 and 38 < lat < 39  # UTM 15N near St. Louis
    assert layer.kind == "polygons" and layer.n_features == 2
    assert layer.attributes["total_pop"]["kind"] == "count"
    assert layer.attributes["pct_x"]["kind"] == "rate"
    assert layer.population_attribute == "total_pop"
    assert AccessEvent.objects.filter(action="layer.upload", object_id=str(layer.pk)).exists()


def test_it_reads_a_zipped_shapefile_with_its_prj(world):
    layer = _upload(world, _shapefile_zip(), name="tracts.zip")
    ring = json.loads(layer.geojson)["features"][0]["geometry"]["coordinates"][0]
    assert all(-91 < x < -90 and 38 < y < 39 for x, y in ring)
    assert layer.attributes["POP"]["max"] == 500


@pytest.mark.parametrize("data, message", [
    (b"not json", "not a GeoJSON"),
    (json.dumps({"type": "Feature"}).encode(), "FeatureCollection"),
    (json.dumps({"type": "FeatureCollection", "features": []}).encode(), "no features"),
    (json.dumps({**TRACTS_PROJECTED, "crs": None}).encode(), "not longitude/latitude"),
    (json.dumps({"type": "FeatureCollection", "features": [
        TRACTS_PROJECTED["features"][0] | {"geometry": {"type": "Point", "coordinates": [0, 0]}},
        TRACTS_PROJECTED["features"][1]], "crs": TRACTS_PROJECTED["crs"]}).encode(),
     "only polygons or only points"),
])
def test_it_refuses_unusable_layer_files_and_stores_nothing(world, data, message):
    with pytest.raises(LayerError, match=message):
        _upload(world, data)
    assert not AreaLayer.objects.exists()


def test_it_refuses_settings_that_do_not_fit_the_layer_and_changes_nothing(world):
    layer = _upload(world, json.dumps(TRACTS_PROJECTED).encode())
    with pytest.raises(LayerError, match="unknown columns"):
        do_update_layer(layer, acting_user=world.anna, use_as_covariates=False,
                        use_for_fairness=True, population_attribute="total_pop",
                        groupings=[{"name": "g", "kind": "majority", "columns": ["a", "b"]}],
                        band=[0.8, 1.25])
    with pytest.raises(LayerError, match="band"):
        do_update_layer(layer, acting_user=world.anna, use_as_covariates=False,
                        use_for_fairness=False, population_attribute="", groupings=[],
                        band=[1.1, 1.25])
    layer.refresh_from_db()
    assert not layer.use_for_fairness


def test_only_one_layer_per_agency_defines_the_fairness_groups(world):
    first = _upload(world, synthetic_tracts(), layer_name="First")
    second = _upload(world, synthetic_tracts(), layer_name="Second")
    settings = {"use_as_covariates": False, "use_for_fairness": True,
                "population_attribute": "total_pop", "band": [0.8, 1.25],
                "groupings": [{"name": "Majority", "kind": "majority",
                               "columns": ["group_a", "group_b"]}]}
    do_update_layer(first, acting_user=world.anna, **settings)
    do_update_layer(second, acting_user=world.anna, **settings)
    assert list(AreaLayer.objects.filter(use_for_fairness=True)) == [second]


def test_the_upload_page_shows_a_clear_error_for_a_bad_file(world,
                                                             django_capture_on_commit_callbacks):
    client = world.client_for("anna")
    with django_capture_on_commit_callbacks(execute=True):  # the task runs on commit
        posted = client.post(reverse("layers", kwargs={"slug": "alpha"}),
                             {"file": io.BytesIO(b"{}"), "name": "bad"})
    response = client.get(posted["Location"])  # the upload's page says why it was refused
    assert response.status_code == 200
    assert b"FeatureCollection" in response.content and b'role="alert"' in response.content
    assert not AreaLayer.objects.exists()


# data screen ----------------------------------------------------------------------------------
def test_enforcement_driven_categories_need_a_written_reason(world):
    client = world.client_for("alice")
    url = reverse("agency-settings", kwargs={"slug": "alpha"})
    form = {"name": "Alpha", "timezone": "America/Chicago", "cell_size_m": 150,
            "train_on_enforcement_categories": "on", "enforcement_reason": " "}
    response = client.post(url, form)
    assert response.status_code == 400
    world.alpha.refresh_from_db()
    assert not world.alpha.train_on_enforcement_categories


def test_all_crime_models_leave_out_drugs_unless_the_agency_gives_a_reason(world):
    from predictions.models import ForecastModel

    model = ForecastModel(agency=world.alpha, name="all", category="")
    targets, excluded = target_categories(model)
    assert "drugs" not in targets and "drugs" in excluded
    world.alpha.train_on_enforcement_categories = True
    world.alpha.enforcement_reason = "Council resolution 12: drug markets harm residents."
    world.alpha.save()
    targets, excluded = target_categories(model)
    assert "drugs" in targets and excluded == {}


# training, forecasts, governance --------------------------------------------------------------
@pytest.fixture
def fair_forecast(world):
    return make_forecast(world.alpha, world.anna, method="kde", windows=3, tracts=True)


def test_a_training_run_reports_fairness_for_every_grouping(fair_forecast):
    fairness = fair_forecast.run.model_card["fairness"]
    names = [r["grouping"] for r in fairness["reports"]]
    assert names == ["Majority group of residents", "Poverty rate quintile"]
    majority = fairness["reports"][0]
    assert set(majority["groups"]) == {"group a", "group b"}
    shares = [g["population_share"] for g in majority["population"].values()]
    assert sum(shares) == pytest.approx(1.0)
    fair = majority["fair_option"]
    for cov in ("1%", "5%"):
        if fair[cov]["windows_met"] == majority["windows"]:
            assert fair[cov]["disparity_fair"] <= 1.25 + 1e-6
    assert [p["band"] for p in majority["tradeoff"]][0] is None
    quintiles = fairness["reports"][1]["groups"]
    assert len(quintiles) == 5
    # and the forecast written after training records each group's exposure
    entry = fair_forecast.fairness["groupings"][0]["coverages"]["5%"]
    ratios = [g["exposure_ratio"] for g in entry["exposure"].values()]
    assert all(r is None or r >= 0 for r in ratios)
    assert len(entry["fair_cells"]) == entry["cells"]
    if entry["fair_band_met"]:
        assert all(0.8 - 1e-6 <= r <= 1.25 + 1e-6
                   for r in entry["fair_ratios"].values() if r is not None)


def test_a_board_member_reads_the_governance_pack_without_any_forecast_cell(world,
                                                                            fair_forecast):
    """The JSON pack, the page with the report and trade-off curve, and the HTML file."""
    url = reverse("model-governance-json",
                  kwargs={"slug": "alpha", "model_id": fair_forecast.model_id})
    response = world.client_for("carol").get(url)
    assert response.status_code == 200
    pack = response.json()
    assert pack["fairness"]["reports"]
    assert pack["latest_forecast_exposure"]["groupings"]
    text = response.content.decode()
    assert "fair_cells" not in text and "geometry" not in text
    assert "not grounds for a stop or a search" in pack["intended_use"]
    assert "365 days" in pack["retention"]["forecasts"]
    event = AccessEvent.objects.filter(action="model.governance_view").latest("seq")
    assert event.actor_name == "carol" and event.actor_role == "board"
    # the same pack as a page (members and boards) and as a downloadable file
    url = reverse("model-governance", kwargs={"slug": "alpha", "model_id": fair_forecast.model_id})
    response = world.client_for("victor").get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Fairness by majority group of residents" in body
    assert "<polyline" in body and "Trade-off" in body
    download = world.client_for("carol").get(url + "?download=html")
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"<!doctype html>" in download.content


def test_the_run_page_and_the_map_show_fairness(world, fair_forecast):
    url = reverse("training-run", kwargs={"slug": "alpha", "run_id": fair_forecast.run_id})
    body = world.client_for("anna").get(url).content.decode()
    assert "Fairness-aware patrol selection" in body
    assert "Fairness by poverty rate quintile" in body
    # the daily map shows the forecast's exposure of groups beside the model card
    client = with_purpose(world, "victor")
    body = client.get(reverse("forecast-map", args=["alpha"])).content.decode()
    assert "Who lives in the flagged cells" in body
    ratio = fair_forecast.fairness["groupings"][0]["coverages"]["1%"]["exposure"]["group b"][
        "exposure_ratio"]
    assert f"{ratio:.2f}" in body


def test_ml_models_learn_from_covariate_layers_and_show_the_difference(world):
    forecast = make_forecast(world.alpha, world.anna, method="poisson_glm", windows=2,
                             tracts=True, use_covariates=True)
    card = forecast.run.model_card
    assert "synthetic_census_tracts_total_pop_per_km2" in card["covariates"]
    assert "poisson_glm without covariates" in forecast.run.metrics
    assert "poisson_glm" in forecast.run.metrics


# retention ------------------------------------------------------------------------------------
def test_it_deletes_forecasts_past_retention_and_records_it(world, settings):
    forecast = make_forecast(world.alpha, world.anna)
    settings.FORECAST_RETENTION_DAYS = 30
    recent = purge_expired_forecasts(today=forecast.window_start + timedelta(days=30))
    assert recent == 0
    gone = purge_expired_forecasts(today=forecast.window_start + timedelta(days=31))
    assert gone == 1
    assert not Forecast.objects.filter(pk=forecast.pk).exists()
    event = AccessEvent.objects.get(action="forecast.purge")
    assert event.details["forecasts"] == [forecast.pk]
    assert date.fromisoformat(event.details["before"]) > forecast.window_start


def test_areal_weighting_of_the_demo_tracts_conserves_residents():
    from shapely.geometry import shape

    from predictions.forecasting import Grid
    from predictions.forecasting.areal import area_weights

    doc = json.loads(synthetic_tracts())
    geoms = [shape(f["geometry"]) for f in doc["features"]]
    pop = np.array([f["properties"]["total_pop"] for f in doc["features"]], float)
    lon = np.array([g.centroid.x for g in geoms])
    lat = np.array([g.centroid.y for g in geoms])
    boundary = {"type": "MultiPolygon", "coordinates": [
        [g.exterior.coords[:]] for g in geoms]}
    grid = Grid.from_lonlat(lon, lat, cell_size=150, boundary=boundary)
    cells = area_weights(grid, geoms).allocate(pop)
    assert cells.sum() == pytest.approx(pop.sum(), rel=1e-6)
