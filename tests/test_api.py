"""REST API v1: roles, cross-agency 404, purpose required and recorded, pagination, tokens."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audit.models import AccessEvent
from predictions.models import Incident
from tests.samples import GENERIC_CSV


def api(world, who):
    client = APIClient()
    client.force_authenticate(getattr(world, who))
    return client


def test_anonymous_callers_are_refused(world):
    response = APIClient().get("/api/v1/agencies/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"  # RFC 7235: how to authenticate


def test_it_lists_only_the_callers_agencies_with_roles(world):
    data = api(world, "anna").get("/api/v1/agencies/").json()
    assert data == [{"slug": "alpha", "name": "Alpha Police", "timezone": "America/Chicago",
                     "role": "analyst"}]


@pytest.mark.parametrize("path", [
    "datasets/", "incidents/", "models/", "forecasts/",
])
def test_another_agencys_lists_do_not_exist(world, path):
    assert api(world, "bob").get(f"/api/v1/agencies/alpha/{path}").status_code == 404


def test_viewers_may_list_forecasts_but_not_incidents(world):
    world.forecast  # noqa: B018
    client = api(world, "victor")
    assert client.get("/api/v1/agencies/alpha/forecasts/").status_code == 200
    assert client.get("/api/v1/agencies/alpha/incidents/").status_code == 403


def test_incidents_are_filtered_and_paginated(world):
    world.dataset  # noqa: B018
    client = api(world, "anna")
    page = client.get("/api/v1/agencies/alpha/incidents/", {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    robbery = client.get("/api/v1/agencies/alpha/incidents/", {"category": "robbery"}).json()
    assert [r["source_id"] for r in robbery["results"]] == ["G-2"]
    box = client.get("/api/v1/agencies/alpha/incidents/",
                     {"bbox": "-90.255,38.625,-90.245,38.635"}).json()
    assert [r["source_id"] for r in box["results"]] == ["G-1"]
    assert client.get("/api/v1/agencies/alpha/incidents/", {"bbox": "x"}).status_code == 400


def test_forecast_cells_need_a_purpose(world):
    forecast = world.forecast
    url = f"/api/v1/agencies/alpha/forecasts/{forecast.pk}/cells/"
    response = api(world, "victor").get(url)
    assert response.status_code == 403
    assert "purpose" in response.json()["detail"]
    assert not AccessEvent.objects.filter(action="forecast.api_cells").exists()


def test_forecast_cells_with_a_purpose_are_served_and_recorded(world):
    forecast = world.forecast
    url = f"/api/v1/agencies/alpha/forecasts/{forecast.pk}/cells/"
    response = api(world, "victor").get(url, {"purpose": "analysis", "note": "weekly brief"})
    features = json.loads(response.content)["features"]
    assert len(features) == forecast.n_cells
    event = AccessEvent.objects.get(action="forecast.api_cells")
    assert (event.actor_name, event.purpose, event.purpose_note) == (
        "victor", "analysis", "weekly brief")


def test_the_api_forecast_layer_carries_no_per_cell_explanations(world):
    """Explanations are read one cell at a time through the audited popup; the whole-map
    layer keeps its four properties (and its size)."""
    from tests.samples import make_forecast

    forecast = make_forecast(world.alpha, world.anna, method="sepp")
    assert forecast.cells.filter(explanation__isnull=False).exists()
    url = f"/api/v1/agencies/alpha/forecasts/{forecast.pk}/cells/"
    response = api(world, "victor").get(url, {"purpose": "analysis"})
    features = json.loads(response.content)["features"]
    assert {key for f in features for key in f["properties"]} == {
        "rank", "cell", "score", "expected"}
    assert b"background" not in response.content


def test_an_upload_through_the_api_imports(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world, "anna").post("/api/v1/agencies/alpha/datasets/", {
            "files": [SimpleUploadedFile("x.csv", GENERIC_CSV.encode())],
            "format": "generic_csv"}, format="multipart")
    # without a column mapping a generic CSV cannot be read: the import fails, clearly
    assert response.status_code == 201
    dataset = api(world, "anna").get(
        f"/api/v1/agencies/alpha/datasets/{response.json()['id']}/").json()
    assert dataset["status"] == "failed" and dataset["error_message"]
    assert not Incident.objects.exists()


def test_training_starts_through_the_api(world):
    forecast = world.forecast
    response = api(world, "anna").post(
        f"/api/v1/agencies/alpha/models/{forecast.model_id}/train/")
    assert response.status_code == 202
    run = api(world, "anna").get(f"/api/v1/agencies/alpha/runs/{response.json()['id']}/")
    assert run.status_code == 200


def test_a_token_authenticates_a_system(world, client):
    from agencies.models import ApiToken
    from agencies.tokens import hash_key

    client.force_login(world.anna)
    key = client.post("/accounts/token/", {"name": "nightly export"}).context["key"]
    system = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert system.get("/api/v1/agencies/").json()[0]["slug"] == "alpha"
    assert ApiToken.objects.get(user=world.anna).key_hash == hash_key(key)
    assert AccessEvent.objects.filter(action="auth.token_create", actor_name="anna").exists()


def test_the_openapi_schema_is_served(world, client):
    client.force_login(world.anna)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/agencies/{slug}/forecasts/{id}/cells/" in response.content


@pytest.mark.parametrize("query", [
    {"purpose": "curiosity"},  # not one of the agency's purposes
    {"purpose": "other"},  # "other" without a note
    {"purpose": "other", "note": "   "},
])
def test_forecast_cells_refuse_a_purpose_outside_the_agencys_rules(world, query):
    url = f"/api/v1/agencies/alpha/forecasts/{world.forecast.pk}/cells/"
    response = api(world, "victor").get(url, query)
    assert response.status_code == 403
    assert not AccessEvent.objects.filter(action="forecast.api_cells").exists()


def test_forecast_cells_take_other_with_a_note(world):
    url = f"/api/v1/agencies/alpha/forecasts/{world.forecast.pk}/cells/"
    response = api(world, "victor").get(url, {"purpose": "other", "note": "court request"})
    assert response.status_code == 200
    event = AccessEvent.objects.get(action="forecast.api_cells")
    assert (event.purpose, event.purpose_note) == ("other", "court request")
