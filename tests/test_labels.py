"""Categories and purposes are shown as words, never as internal codes."""

from django.urls import reverse

import audit


def read(world, purpose):
    audit.record(action="forecast.view", actor=world.anna, actor_role="analyst",
                 agency=world.alpha, object_type="forecast", object_id=1, purpose=purpose)


def test_the_transparency_page_names_purposes_in_words(world):
    read(world, "patrol_planning")
    html = world.client_for("anonymous").get(
        reverse("transparency", args=["alpha"])).content.decode()
    label = world.alpha.purpose_label("patrol_planning")
    assert label and label != "patrol_planning"
    assert f"<td>{label}</td>" in html and "<td>patrol_planning</td>" not in html


def test_the_oversight_summary_names_purposes_in_words(world):
    read(world, "patrol_planning")
    html = world.client_for("carol").get(reverse("oversight-home")).content.decode()
    label = world.alpha.purpose_label("patrol_planning")
    assert f'<td title="patrol_planning">{label}</td>' in html


def test_the_popup_labels_the_recent_incidents_by_category(world):
    from tests.test_forecast_viewer import with_purpose

    forecast = world.forecast
    cell = with_purpose(world, "anna").get(
        f"/a/alpha/forecast/{forecast.pk}/cell/1/").json()
    recent = cell["recent"]
    assert recent["by_category"] and set(recent["labels"]) == set(recent["by_category"])
    assert recent["labels"].get("burglary") in (None, "Burglary")
    assert all(label[0].isupper() for label in recent["labels"].values())
