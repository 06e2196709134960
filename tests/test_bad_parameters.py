"""Bad query parameters get a clear 400, never a 500 (issue 19's list for these pages)."""

import pytest

from tests.test_api import api
from tests.test_forecast_viewer import with_purpose


@pytest.mark.parametrize("query", ["coverage=nan", "coverage=inf", "coverage=abc",
                                   "date=abc", "date=2024-13-45", "model=abc"])
def test_the_forecast_page_refuses_bad_parameters_with_400(world, query):
    world.forecast  # noqa: B018
    client = with_purpose(world, "anna")
    assert client.get(f"/a/alpha/forecast/?{query}").status_code == 400


@pytest.mark.parametrize("query", ["coverage=nan", "coverage=-inf", "coverage=abc"])
def test_the_forecast_layer_and_export_refuse_bad_coverage(world, query):
    forecast = world.forecast
    client = with_purpose(world, "anna")
    assert client.get(f"/a/alpha/forecast/{forecast.pk}/cells.geojson?{query}").status_code == 400
    assert client.get(f"/a/alpha/forecast/{forecast.pk}/export.csv?{query}").status_code == 400


@pytest.mark.parametrize("query", ["start=abc", "end=2019-02-30", "start=tomorrow"])
def test_the_incidents_api_names_a_bad_date(world, query):
    world.dataset  # noqa: B018
    response = api(world, "anna").get(f"/api/v1/agencies/alpha/incidents/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_the_incidents_api_takes_dates_and_datetimes_with_offsets(world):
    world.dataset  # noqa: B018
    client = api(world, "anna")
    for query in ["start=2000-01-01", "end=2100-01-01T00:00:00-06:00"]:
        assert client.get(f"/api/v1/agencies/alpha/incidents/?{query}").status_code == 200


@pytest.mark.parametrize("coverage", ["nan", "inf", "abc"])
def test_the_cells_api_refuses_a_bad_coverage(world, coverage):
    forecast = world.forecast
    response = api(world, "victor").get(
        f"/api/v1/agencies/alpha/forecasts/{forecast.pk}/cells/",
        {"purpose": "analysis", "coverage": coverage})
    assert response.status_code == 400
