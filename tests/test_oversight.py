"""The oversight workspace: board members read granted agencies' records, nothing else."""

import csv
import io
from datetime import UTC, datetime

from django.urls import reverse

import audit
from audit.models import AccessEvent


def forecast_read(world, agency, note="", purpose="patrol", **details):
    return audit.record(action="forecast.view", actor=world.anna, actor_role="analyst",
                         agency=agency, object_type="forecast", object_id=1, purpose=purpose,
                         purpose_note=note, details={"cells": 10, **details})


def test_a_board_member_sees_granted_agencies_only(world):
    forecast_read(world, world.alpha, note="alpha read")
    forecast_read(world, world.bravo, note="bravo read")
    response = world.client_for("carol").get(reverse("oversight-home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "alpha read" in html
    assert "bravo read" not in html


def test_a_board_member_filters_by_purpose_and_user(world):
    forecast_read(world, world.alpha, purpose="analysis", note="one")
    forecast_read(world, world.alpha, purpose="patrol", note="two")
    html = world.client_for("carol").get(
        reverse("oversight-home"), {"purpose": "analysis", "user": "anna"}).content.decode()
    assert "Crime analysis: one" in html
    assert "patrol: two" not in html


def choices(response, name):
    return dict(response.context["form"].fields[name].choices)


def test_the_filters_are_choices_with_the_words_of_the_trail(world):
    forecast_read(world, world.alpha, purpose="analysis")
    response = world.client_for("carol").get(reverse("oversight-home"))
    assert choices(response, "purpose")["patrol_planning"] == "Patrol planning"
    assert choices(response, "action")["forecast.view"] == "Opened a forecast map"
    assert choices(response, "role")["analyst"] == "Analyst"
    assert "anna" in choices(response, "user")


def test_the_user_choices_hold_only_people_in_the_readable_trail(world):
    forecast_read(world, world.bravo, note="bravo read")  # anna's read in bravo's trail only
    response = world.client_for("carol").get(reverse("oversight-home"))
    assert "anna" not in choices(response, "user")


def test_a_value_that_is_not_offered_matches_nothing(world):
    forecast_read(world, world.alpha, note="kept")
    response = world.client_for("carol").get(reverse("oversight-home"), {"user": "zed"})
    assert response.status_code == 200
    assert "kept" not in response.content.decode()
    assert response.context["form"].errors["user"]


def test_a_group_of_events_filters_by_its_prefix(world):
    forecast_read(world, world.alpha, note="a read")
    response = world.client_for("carol").get(reverse("oversight-home"),
                                              {"action": "forecast."})
    assert {e.action for e in response.context["page"]} == {"forecast.view"}


def test_the_summary_per_person_counts_reads_purposes_and_patrol_selections(world):
    forecast_read(world, world.alpha, purpose="analysis", flagged=12)
    forecast_read(world, world.alpha, purpose="patrol_planning", flagged=12, selection="fair")
    forecast_read(world, world.alpha, purpose="patrol_planning", flagged=40)
    summary = world.client_for("carol").get(reverse("oversight-home")).context["summary"]
    (anna,) = summary.officers
    assert (anna["actor_name"], anna["n"], anna["forecasts"]) == ("anna", 3, 1)
    assert anna["purposes"] == [("Patrol planning", 2), ("Crime analysis", 1)]
    assert anna["flagged"] == [("12", 2), ("40", 1)]
    assert anna["selections"] == [("fair", 1)]


def test_reading_the_trail_is_itself_recorded(world):
    world.client_for("carol").get(reverse("oversight-home"))
    event = AccessEvent.objects.filter(action="audit.view").get()
    assert (event.actor_name, event.actor_role, event.agency_slug) == ("carol", "board", "alpha")


def test_the_export_is_formula_safe_and_recorded(world):
    forecast_read(world, world.alpha, note="=HYPERLINK(\"http://x\")")
    response = world.client_for("carol").get(reverse("oversight-export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    reads = [row for row in rows if row["action"] == "forecast.view"]
    assert reads[0]["purpose_note"] == "'=HYPERLINK(\"http://x\")"
    assert AccessEvent.objects.filter(action="audit.export", actor_name="carol").exists()


def flags_seen_by_carol(world):
    summary = world.client_for("carol").get(reverse("oversight-home")).context["summary"]
    return {flag.kind: flag for flag in summary.flags}


def test_a_bare_purpose_is_flagged(world):
    forecast_read(world, world.alpha, purpose="analysis", note="weekly review")
    bare = forecast_read(world, world.alpha, purpose="other", note="")
    assert flags_seen_by_carol(world)["bare-purpose"].seqs == [bare.seq]


def test_reads_at_unusual_local_hours_are_flagged(world, monkeypatch):
    # alpha is in America/Chicago: 08:30 UTC is 02:30 there, 18:00 UTC is noon
    at = {"now": datetime(2026, 1, 5, 8, 30, tzinfo=UTC)}
    monkeypatch.setattr("audit.recorder.timezone.now", lambda: at["now"])
    night = forecast_read(world, world.alpha, note="night")
    at["now"] = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    forecast_read(world, world.alpha, note="day")
    assert flags_seen_by_carol(world)["unusual-hours"].seqs == [night.seq]


def test_many_denied_attempts_are_flagged(world):
    for _ in range(5):
        world.client_for("bob").get("/a/alpha/")
    summary = world.client_for("carol").get(reverse("oversight-home")).context["summary"]
    assert any(f.kind == "denied" and "bob: 5 denied" in f.text for f in summary.flags)


def test_members_of_an_agency_do_not_see_its_trail(world):
    forecast_read(world, world.alpha, note="secret note")
    html = world.client_for("alice").get(reverse("oversight-home")).content.decode()
    assert "secret note" not in html


def test_the_transparency_page_counts_reads_by_month_and_purpose(world, client):
    forecast_read(world, world.alpha, purpose="patrol")
    forecast_read(world, world.alpha, purpose="patrol")
    response = client.get(reverse("transparency", args=["alpha"]))
    rows = list(response.context["monthly"])
    assert [(r["purpose"], r["n"]) for r in rows] == [("patrol", 2)]
    assert "anna" not in response.content.decode()  # aggregates, never who


def test_the_published_checkpoints_carry_the_public_key(world, client):
    from audit.checkpoints import sign_checkpoint

    forecast_read(world, world.alpha)
    sign_checkpoint()
    document = client.get(reverse("audit-checkpoints")).json()
    assert document["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert document["checkpoints"][0]["seq"] == AccessEvent.objects.count()
