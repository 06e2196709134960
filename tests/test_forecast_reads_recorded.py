"""Every route that serves a forecast, on the pages and in the API, records the read: one
audit record per request, with the stated purpose, naming the forecast and the format."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

from audit.models import AccessEvent
from predictions.api import urls as api_urls
from predictions.forecasts import urls as forecast_urls
from predictions.forecasts.purpose import PurposeForm

# (url name, kwargs beyond slug and forecast id, query, expected action, expected details)
PAGE_READS = [
    ("forecast-map", {}, {}, "forecast.view", {}),
    ("forecast-cells", {}, {}, "forecast.map_layer", {}),
    ("forecast-cell", {"rank": 1}, {}, "forecast.cell", {"rank": 1}),
    ("forecast-search", {}, {"q": "a"}, "forecast.search", {"query": "a"}),
    ("forecast-incidents", {}, {}, "forecast.incidents", {}),
    ("forecast-export", {"fmt": "csv"}, {}, "forecast.export", {"format": "csv"}),
    ("forecast-export", {"fmt": "geojson"}, {}, "forecast.export", {"format": "geojson"}),
]
API_READS = {"api-forecast-cells"}
# forecast metadata (method, window, cell count): no score or cell of any forecast
API_NOT_A_READ = {"api-forecasts"}


def with_purpose(world, purpose="analysis", note="weekly review"):
    client = world.client_for("anna")
    response = client.post(reverse("forecast-map", args=["alpha"]),
                           {"purpose": purpose, "note": note})
    assert response.status_code == 302
    return client


def forecast_events():
    return AccessEvent.objects.filter(action__startswith="forecast.")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_list_below_holds_every_forecast_route():
    names = {p.name for p in forecast_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {name for name, *_ in PAGE_READS}
    api_names = {p.name for p in api_urls.urlpatterns
                 if isinstance(p, URLPattern) and "forecast" in (p.name or "")}
    assert api_names == API_READS | API_NOT_A_READ


@pytest.mark.parametrize(("name", "kwargs", "query", "action", "details"), PAGE_READS,
                         ids=[f"{r[0]}-{r[1].get('fmt', '')}" for r in PAGE_READS])
def test_every_page_read_of_a_forecast_is_recorded_once(world, name, kwargs, query, action,
                                                        details):
    forecast = world.forecast
    client = with_purpose(world)
    args = {"slug": "alpha"} if name == "forecast-map" else {
        "slug": "alpha", "forecast_id": forecast.pk, **kwargs}
    before = set(forecast_events().values_list("seq", flat=True))
    response = client.get(reverse(name, kwargs=args), query)
    assert response.status_code == 200
    assert body(response)
    new = forecast_events().exclude(seq__in=before)
    (event,) = new
    assert (event.action, event.object_type, event.object_id) == (
        action, "forecast", str(forecast.pk))
    assert (event.purpose, event.purpose_note, event.actor_name) == (
        "analysis", "weekly review", "anna")
    assert details.items() <= event.details.items()


def test_an_api_read_of_a_forecasts_cells_is_recorded_once(world):
    forecast = world.forecast
    client = APIClient()
    client.force_authenticate(world.anna)
    response = client.get(reverse("api-forecast-cells", args=["alpha", forecast.pk]),
                          {"purpose": "analysis", "note": "weekly review"})
    assert response.status_code == 200
    (event,) = forecast_events()
    assert (event.action, event.object_id, event.purpose, event.purpose_note) == (
        "forecast.api_cells", str(forecast.pk), "analysis", "weekly review")


PURPOSES = [
    ("analysis", ""), ("patrol_planning", "night shift"), ("other", "asked by the chief"),
    ("other", ""), ("other", "   "), ("made_up", "a note"), ("", ""), ("ANALYSIS", ""),
    ("district_7", "custom"),
]


@pytest.mark.parametrize("custom", [False, True], ids=["default purposes", "custom purposes"])
def test_the_api_accepts_exactly_the_purposes_the_form_accepts(world, custom):
    if custom:
        world.alpha.access_purposes = [["district_7", "District 7 tasking"],
                                       ["other", "Other (say why)"]]
        world.alpha.save(update_fields=["access_purposes"])
    forecast = world.forecast
    client = APIClient()
    client.force_authenticate(world.anna)
    url = reverse("api-forecast-cells", args=["alpha", forecast.pk])
    outcomes = []
    for code, note in PURPOSES:
        form_ok = PurposeForm({"purpose": code, "note": note}, agency=world.alpha).is_valid()
        status = client.get(url, {"purpose": code, "note": note}).status_code
        assert status in (200, 403)
        outcomes.append((code, note, form_ok, status == 200))
    assert all(form_ok == api_ok for _, _, form_ok, api_ok in outcomes), outcomes
    assert {o[2] for o in outcomes} == {True, False}  # both answers occur
    served = [o for o in outcomes if o[3]]
    assert forecast_events().count() == len(served)
