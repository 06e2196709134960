"""Agency data is never stored by a browser or a shared cache; public pages may be."""

import pytest

from tests.test_api import api
from tests.test_forecast_viewer import with_purpose


def test_forecast_reads_and_exports_are_not_stored(world):
    forecast = world.forecast
    client = with_purpose(world, "anna")
    for url in [f"/a/alpha/forecast/?model={forecast.model_id}",
                f"/a/alpha/forecast/{forecast.pk}/cells.geojson",
                f"/a/alpha/forecast/{forecast.pk}/cell/1/",
                f"/a/alpha/forecast/{forecast.pk}/incidents.geojson",
                f"/a/alpha/forecast/{forecast.pk}/search/?q=oak",
                f"/a/alpha/forecast/{forecast.pk}/export.csv"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_the_api_and_the_audit_trail_are_not_stored(world):
    world.dataset  # noqa: B018
    assert "no-store" in api(world, "anna").get(
        "/api/v1/agencies/alpha/incidents/")["Cache-Control"]
    for url in ["/oversight/", "/oversight/export.csv"]:
        assert "no-store" in world.client_for("carol").get(url)["Cache-Control"], url


@pytest.mark.parametrize("url", ["/public/", "/transparency/alpha/"])
def test_public_pages_keep_their_caching(world, url):
    response = world.client_for("anonymous").get(url)
    assert "no-store" not in response.get("Cache-Control", "")
