"""The forecast viewer: a purpose before any forecast, every read recorded with it."""

import csv
import io
import json

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from audit.recorder import AuditWriteError
from tests.audit_helpers import break_audit_writes


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
    break_audit_writes(monkeypatch)
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


# --- why a cell is high: explanations stored with the forecast, served in the popup --------
SMALL_HGB = {"n_origins": 8, "estimator_params": {"max_iter": 40}}


def ml_forecast(world, method="hgb_poisson", parameters=SMALL_HGB):
    from tests.samples import make_forecast

    return make_forecast(world.alpha, world.anna, method=method, parameters=parameters)


def popup(client, forecast, rank):
    return client.get(reverse("forecast-cell", args=["alpha", forecast.pk, rank])).json()


def test_a_machine_learning_popup_names_the_models_strongest_features(world):
    from predictions.forecasts.explanations import TOP_EXPLAINED

    forecast = ml_forecast(world)
    client = with_purpose(world)
    data = popup(client, forecast, 1)
    why = data["explanation"]
    assert why["kind"] == "features"
    features = why["features"]
    assert 1 <= len(features) <= 5
    effects = [abs(f["effect"]) for f in features]
    assert effects == sorted(effects, reverse=True) and effects[0] > 0
    for f in features:  # plain words, with the method stated in them
        assert "_" not in f["label"] and f["label"] in f["text"]
        assert "if this were typical" in f["text"]
        assert ("falls by" in f["text"]) == (f["effect"] > 0)
    assert "typical value" in why["how"] and "typical value" in why["how_short"]
    assert data["recent"]["days"] == 28  # the recent nearby incidents stay
    event = last("forecast.cell")
    assert event.details["rank"] == 1 and event.purpose == "patrol_planning"
    # stored for the top cells only; the others say so
    assert forecast.cells.filter(explanation__isnull=False).count() == TOP_EXPLAINED
    low = popup(client, forecast, TOP_EXPLAINED + 1)["explanation"]
    assert low["features"] == [] and "highest-ranked" in low["lines"][0]
    # what is explained is the forecast that was served
    for cell in forecast.cells.filter(rank__lte=20):
        assert cell.explanation["prediction"] == pytest.approx(cell.score, rel=1e-3, abs=1e-4)


def test_feature_sentences_keep_small_values_and_say_the_direction():
    from predictions.forecasting.ml import _feature_text

    text = _feature_text({"value": 0.0004, "typical": 0.0, "effect": 0.04}, "x", "count")
    assert text == ("x: under 0.01 (typical cell: 0). The predicted count falls by 0.04 if "
                    "this were typical.")
    text = _feature_text({"value": 2, "typical": 30, "effect": -0.042}, "y", "probability")
    assert text.endswith("chance of at least one incident rises by 4.2 percentage points if "
                         "this were typical.")


def test_a_kde_popup_says_it_has_no_per_feature_explanation(world):
    forecast = world.forecast  # kde
    client = with_purpose(world)
    why = popup(client, forecast, 1)["explanation"]
    assert why["kind"] == "method" and why["features"] == []
    assert "No per-feature explanation" in why["how"] and "200 m" in why["how"]


def test_a_sepp_popup_splits_background_and_near_repeats(world):
    forecast = ml_forecast(world, "sepp", {})
    client = with_purpose(world)
    data = popup(client, forecast, 1)
    stored = forecast.cells.get(rank=1).explanation
    assert stored["background"] + stored["triggered"] == pytest.approx(data["expected_count"],
                                                                       abs=1e-3)
    lines = data["explanation"]["lines"]
    assert lines[0].startswith("Background") and lines[1].startswith("Near repeats")


def test_the_model_card_states_how_cells_are_explained_and_the_layer_stays_lean(world):
    forecast = ml_forecast(world)
    client = with_purpose(world)
    response = client.get(reverse("forecast-map", args=["alpha"]), {"model": forecast.model_id})
    assert b"Why a cell is high" in response.content
    assert b"replaced by its typical value" in response.content
    # explanations travel one popup at a time, never in the whole-map layer
    data = json.loads(client.get(reverse("forecast-cells", args=["alpha", forecast.pk])).content)
    assert set(data["features"][0]["properties"]) == {"rank", "cell", "score", "expected"}


# --- the optional layer of recent incidents -----------------------------------------------
def incidents_url(forecast):
    return reverse("forecast-incidents", args=["alpha", forecast.pk])


def test_the_incidents_layer_serves_the_recent_target_incidents_and_is_recorded(world):
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from predictions.models import Incident

    forecast = world.forecast
    client = with_purpose(world, "anna", "analysis", "")
    response = client.get(incidents_url(forecast))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    data = response.json()
    zone = ZoneInfo("America/Chicago")
    end = datetime.combine(forecast.window_start, time.min, zone)
    start = end - timedelta(days=28)
    expected = Incident.objects.filter(agency=world.alpha, category="burglary",
                                       occurred_at__gte=start, occurred_at__lt=end)
    assert len(data["features"]) == expected.count() > 0
    assert {f["properties"]["category"] for f in data["features"]} == {"Burglary"}
    dates = [f["properties"]["date"] for f in data["features"]]
    assert dates == sorted(dates, reverse=True)
    assert start.date().isoformat() <= min(dates) and max(dates) < str(forecast.window_start)
    assert data["features"][0]["geometry"]["type"] == "Point"
    assert "address" not in data["features"][0]["properties"]
    event = last("forecast.incidents")
    assert (event.actor_name, event.purpose, event.object_id) == (
        "anna", "analysis", str(forecast.pk))
    assert event.details["incidents"] == len(data["features"])


def test_the_incidents_layer_needs_a_purpose_and_the_analyst_role(world):
    forecast = world.forecast
    assert world.client_for("anna").get(incidents_url(forecast)).status_code == 403
    assert not AccessEvent.objects.filter(action="forecast.incidents").exists()
    victor = with_purpose(world)  # a viewer, with a purpose
    assert victor.get(incidents_url(forecast)).status_code == 403
    assert not AccessEvent.objects.filter(action="forecast.incidents").exists()
    page = victor.get(reverse("forecast-map", args=["alpha"]))
    assert b'id="show-incidents"' not in page.content
    anna = with_purpose(world, "anna")
    assert b'id="show-incidents"' in anna.get(reverse("forecast-map", args=["alpha"])).content


def test_another_agencys_incidents_do_not_exist(world):
    forecast = world.forecast
    client = world.client_for("bob")
    client.post(reverse("forecast-map", args=["bravo"]), {"purpose": "analysis", "note": ""})
    assert client.get(incidents_url(forecast)).status_code == 404
    assert client.get(reverse("forecast-incidents", args=["bravo", forecast.pk])
                      ).status_code == 404
    assert not AccessEvent.objects.filter(action="forecast.incidents").exists()


def test_incidents_whose_read_cannot_be_recorded_are_not_served(world, monkeypatch):
    forecast = world.forecast
    client = with_purpose(world, "anna")
    break_audit_writes(monkeypatch)
    with pytest.raises(AuditWriteError):
        client.get(incidents_url(forecast))
