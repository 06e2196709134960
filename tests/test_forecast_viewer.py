"""The forecast viewer: a purpose before any forecast, every read recorded with it."""

import csv
import io
import json

import pytest
from django.db import DatabaseError
from django.urls import reverse

from audit.models import AccessEvent
from audit.recorder import AuditWriteError


def with_purpose(world, who="victor", purpose="patrol_planning", note="night shift"):
    client = world.client_for(who)
    response = client.post(reverse("forecast-map", args=["alpha"]),
                           {"purpose": purpose, "note": note})
    assert response.status_code == 302
    return client


def last(action):
    return AccessEvent.objects.filter(action=action).order_by("-seq").first()


def test_no_forecast_is_shown_before_a_purpose_is_stated(world):
    world.forecast  # noqa: B018 - there is one to show
    response = world.client_for("victor").get(reverse("forecast-map", args=["alpha"]))
    assert "predictions/purpose.html" in [t.name for t in response.templates]
    assert not AccessEvent.objects.filter(action__startswith="forecast.").exists()


def test_other_needs_a_note(world):
    response = world.client_for("victor").post(
        reverse("forecast-map", args=["alpha"]), {"purpose": "other", "note": " "})
    assert response.status_code == 400


def test_the_map_page_is_recorded_with_its_purpose(world):
    forecast = world.forecast
    client = with_purpose(world)
    response = client.get(reverse("forecast-map", args=["alpha"]), {"coverage": "0.05"})
    assert response.status_code == 200
    assert len(response.context["top"]) == 20  # 5 % of 400 cells
    event = last("forecast.view")
    assert (event.actor_name, event.actor_role, event.purpose, event.purpose_note) == (
        "victor", "viewer", "patrol_planning", "night shift")
    assert event.details["window_start"] == str(forecast.window_start)
    assert event.details["cells"] == 20


def test_the_map_layer_serves_every_cell_as_geojson_and_is_recorded(world):
    forecast = world.forecast
    client = with_purpose(world)
    response = client.get(reverse("forecast-cells", args=["alpha", forecast.pk]),
                          {"coverage": "0.01"})
    data = json.loads(response.content)
    assert len(data["features"]) == forecast.n_cells
    assert data["flagged"] == 4  # the top 4 ranks are the patrol areas
    assert sorted(f["properties"]["rank"] for f in data["features"]) == list(range(1, 401))
    assert data["features"][0]["geometry"]["type"] == "Polygon"
    assert last("forecast.map_layer").details["cells"] == forecast.n_cells


def test_the_map_layer_costs_the_same_queries_for_any_size(world, django_assert_max_num_queries):
    forecast = world.forecast
    client = with_purpose(world)
    url = reverse("forecast-cells", args=["alpha", forecast.pk])
    client.get(url)  # warm the session
    with django_assert_max_num_queries(12):
        client.get(url, {"cells": 400})


def test_a_popup_explains_the_cell_and_is_recorded(world):
    forecast = world.forecast
    client = with_purpose(world)
    data = client.get(reverse("forecast-cell", args=["alpha", forecast.pk, 1])).json()
    assert data["rank"] == 1 and data["of_cells"] == 400
    assert data["recent"]["days"] == 28
    assert last("forecast.cell").details["rank"] == 1


def test_the_csv_export_holds_the_flagged_cells_and_is_recorded(world):
    forecast = world.forecast
    client = with_purpose(world)
    response = client.get(reverse("forecast-export", args=["alpha", forecast.pk, "csv"]),
                          {"cells": 7})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(r["rank"]) for r in rows] == list(range(1, 8))
    event = last("forecast.export")
    assert event.details["cells"] == 7 and event.details["format"] == "csv"


def test_the_geojson_export(world):
    forecast = world.forecast
    client = with_purpose(world)
    response = client.get(reverse("forecast-export", args=["alpha", forecast.pk, "geojson"]))
    assert len(response.json()["features"]) == 4


def test_a_read_whose_record_fails_is_not_served(world, monkeypatch):
    forecast = world.forecast
    client = with_purpose(world)

    def refuse(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(AccessEvent.objects, "create", refuse)
    with pytest.raises(AuditWriteError):
        client.get(reverse("forecast-cells", args=["alpha", forecast.pk]))


def test_another_agency_cannot_read_the_forecast_even_with_a_purpose(world):
    forecast = world.forecast
    client = world.client_for("bob")
    client.post(reverse("forecast-map", args=["bravo"]), {"purpose": "analysis", "note": ""})
    response = client.get(reverse("forecast-cells", args=["alpha", forecast.pk]))
    assert response.status_code == 404
    # ...nor through his own agency's URL
    response = client.get(reverse("forecast-cells", args=["bravo", forecast.pk]))
    assert response.status_code == 404


def test_the_map_layer_is_gzipped_for_clients_that_accept_it(world):
    import gzip

    forecast = world.forecast
    client = with_purpose(world)
    url = reverse("forecast-cells", args=["alpha", forecast.pk])
    plain = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert packed["Content-Encoding"] == "gzip"
    assert len(packed.content) < len(plain.content) / 3
    assert json.loads(gzip.decompress(packed.content)) == json.loads(plain.content)
    assert AccessEvent.objects.filter(action="forecast.map_layer").count() == 2
