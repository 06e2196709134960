"""Finding a place on the forecast map: reference areas by name and the agency's recorded
addresses; agency members only, recorded like every read beside a forecast."""

from __future__ import annotations

from unittest import mock

import pytest

from audit.events import Action
from audit.models import AccessEvent
from predictions.demo import seed_neighbourhoods
from predictions.models import Incident
from tests.test_forecast_viewer import last, with_purpose


def search(client, forecast, q):
    return client.get(f"/a/alpha/forecast/{forecast.pk}/search/", {"q": q})


def test_it_finds_a_reference_area_by_part_of_its_name(world):
    seed_neighbourhoods(world.alpha, world.anna)
    found = search(with_purpose(world), world.forecast, "town").json()["results"]
    assert found[0]["name"] == "Old Town" and found[0]["kind"] == "area"
    (south, west), (north, east) = found[0]["bounds"]
    assert south < found[0]["lat"] < north and west < found[0]["lon"] < east


def test_it_finds_recorded_addresses_most_recorded_first(world):
    forecast = world.forecast
    rows = Incident.objects.filter(agency=world.alpha, address__icontains="oak ave",
                                   lon__isnull=False, cancelled=False)
    counts: dict[str, int] = {}
    for address in rows.values_list("address", flat=True):
        counts[address] = counts.get(address, 0) + 1
    found = search(with_purpose(world), forecast, "OAK ave").json()["results"]
    assert found and all(f["kind"] == "address" for f in found)
    assert all("oak ave" in f["name"].lower() for f in found)
    assert [counts[f["name"]] for f in found] == sorted(
        (counts[f["name"]] for f in found), reverse=True)
    assert counts[found[0]["name"]] == max(counts.values())
    mine = rows.filter(address=found[0]["name"])
    assert found[0]["lat"] == pytest.approx(sum(mine.values_list("lat", flat=True))
                                            / mine.count(), abs=1e-5)


def test_every_word_must_match(world):
    found = search(with_purpose(world), world.forecast, "oak block 1400").json()["results"]
    assert found and all({"oak", "block", "1400"} <= set(f["name"].lower().split())
                         for f in found)
    assert search(with_purpose(world), world.forecast, "oak zzz").json()["results"] == []


def test_the_search_is_recorded_with_its_query_and_purpose(world):
    client = with_purpose(world, "anna")
    search(client, world.forecast, "oak")
    event = last(Action.FORECAST_SEARCH)
    assert event.actor_name == "anna" and event.purpose == "patrol_planning"
    assert event.details["query"] == "oak" and event.details["results"] > 0
    assert event.object_id == str(world.forecast.pk)


def test_nothing_is_found_when_the_search_cannot_be_recorded(world):
    client = with_purpose(world, "anna")
    with (mock.patch("audit.record", side_effect=RuntimeError("audit down")),
          pytest.raises(RuntimeError)):
        search(client, world.forecast, "oak")
    assert not AccessEvent.objects.filter(action=Action.FORECAST_SEARCH).exists()


def test_another_agency_gets_404_and_a_member_without_purpose_403(world):
    forecast = world.forecast
    assert search(world.client_for("bob"), forecast, "oak").status_code == 404
    assert search(world.client_for("victor"), forecast, "oak").status_code == 403
    assert search(world.client_for("anonymous"), forecast, "oak").status_code == 302


def test_a_long_or_empty_query_is_answered_not_refused(world):
    client = with_purpose(world)
    assert search(client, world.forecast, "").json()["results"] == []
    long = search(client, world.forecast, "oak " * 200).json()
    assert len(long["query"]) == 100
