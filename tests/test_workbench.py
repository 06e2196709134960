"""The analyst's workbench: counts by area and period match hand-built data, forecasts see
nothing after their origin, bad parameters get a 400, and every read is recorded."""

from __future__ import annotations

import csv
import io
from datetime import date

import numpy as np
import pytest
from django.urls import reverse

from audit.models import AccessEvent
from audit.recorder import AuditWriteError
from predictions.bridge import area_points
from predictions.workbench.choices import read_choice
from predictions.workbench.outlook import read_outlooks
from tests.audit_helpers import break_audit_writes
from tests.workbench_trend_samples import seed_areas, seed_incidents, weekly_rows


@pytest.fixture
def city(world):
    seed_areas(world.alpha, world.anna)
    seed_incidents(world.alpha, world.anna)
    return world


def get(world, name: str, user: str = "anna", **params):
    client = world.client_for(user)
    return client.get(reverse(name, args=["alpha"]), params)


def area_index(world, name: str) -> str:
    return str(area_points(world.alpha).names.index(name))


def test_it_places_each_location_in_its_named_area(city):
    places = area_points(city.alpha)
    assert places.names == ["North", "South"]
    assert sorted(zip(places.lon.tolist(), places.lat.tolist(), places.area.tolist(),
                      strict=True)) == [(-90.25, 38.6, 1), (-90.25, 38.65, 0),
                                        (-90.24, 38.66, 0)]


def test_the_trends_page_counts_a_week_against_the_week_52_weeks_before(city):
    response = get(city, "workbench-trends", area=area_index(city, "North"),
                   category="burglary", period="week")
    assert response.status_code == 200
    series = {s["start"]: s for s in response.context["series"]}
    # 2024-12-30 (Monday) and 2025-01-01 burglaries in North; 52 weeks before: 2024-01-01
    assert series["2024-12-30"]["count"] == 2
    assert series["2024-12-30"]["before"] == 1 and series["2024-12-30"]["change"] == 100.0
    # the Sunday 23:30 local burglary is in the week before, although Monday in UTC
    assert series["2024-12-23"]["count"] == 1
    summary = {r["code"]: r for r in response.context["summary"]}
    assert response.context["latest"] == "2024-12-30"
    assert summary["burglary"]["now"] == 2 and summary["burglary"]["before"] == 1
    assert summary[""]["now"] == 2  # all categories in North that week: the 2 burglaries
    assert summary["robbery"]["before"] == 1 and summary["robbery"]["change"] == -100.0


def test_the_trends_page_counts_the_whole_city_by_month(city):
    response = get(city, "workbench-trends", category="", period="month")
    series = {s["start"]: s for s in response.context["series"]}
    assert series["2024-01-01"]["count"] == 3
    assert series["2024-12-01"]["count"] == 2 and series["2025-01-01"]["count"] == 2
    assert series["2025-01-01"]["before"] == 3 and not series["2025-01-01"]["complete"]


def test_the_trends_csv_holds_every_period_and_category_safely(city):
    response = get(city, "workbench-trends-csv", area=area_index(city, "South"), period="month")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["period_start", "period", "area", "category", "count",
                       "same_period_last_year", "change_percent", "complete"]
    assert ["2024-01-01", "month", "South", "burglary", "1", "", "", "yes"] in rows
    assert ["2025-01-01", "month", "South", "theft", "1", "0", "", "no"] in rows
    assert {r[3] for r in rows[1:]} == {"all", "burglary", "theft"}


def test_the_when_page_counts_hours_and_weekdays_in_local_time(city):
    response = get(city, "workbench-when", area=area_index(city, "North"))
    hours = response.context["data"]["hours"]
    cell = {(h["hour"], d): c["n"] for h in hours for d, c in enumerate(h["cells"])}
    assert cell[(10, 0)] == 2  # Mondays 10:15 and 10:30
    assert cell[(23, 1)] == 1 and cell[(23, 6)] == 1 and cell[(0, 2)] == 1
    assert sum(cell.values()) == 5
    months = {m["name"]: m["n"] for m in response.context["data"]["months"]}
    assert (months["January"], months["December"]) == (3, 2)
    assert b">2</td>" in response.content  # the counts are in the heat table


def test_the_when_page_keeps_to_the_chosen_days(city):
    response = get(city, "workbench-when", **{"from": "2024-12-29", "to": "2024-12-30"})
    assert response.context["data"]["total"] == 2


def test_a_forecast_uses_nothing_recorded_after_its_origin(world):
    seed_areas(world.alpha, world.anna)
    seed_incidents(world.alpha, world.anna, weekly_rows(date(2023, 1, 2), 60), name="a.csv")
    request = type("R", (), {"GET": {"area": "0", "category": "burglary"}})()
    choice = read_choice(request, world.alpha)
    as_of = np.datetime64("2024-01-22")
    before = read_outlooks(choice, as_of)
    assert before["periods"]["week"]["history_to"] == "2024-01-15"
    # later incidents, some in the week of the origin itself
    seed_incidents(world.alpha, world.anna, weekly_rows(date(2024, 1, 22), 10), name="b.csv",
                   prefix="L")
    after = read_outlooks(read_choice(request, world.alpha), as_of)
    assert after["periods"]["week"]["rows"] == before["periods"]["week"]["rows"]
    assert after["periods"]["week"]["chart"] == before["periods"]["week"]["chart"]
    later = read_outlooks(read_choice(request, world.alpha), np.datetime64("2024-02-19"))
    assert later["periods"]["week"]["history_to"] == "2024-02-12"


def test_the_outlook_page_shows_intervals_beside_how_often_they_held(world):
    seed_incidents(world.alpha, world.anna, weekly_rows(date(2023, 1, 2), 60))
    response = get(world, "workbench-outlook")
    week = response.context["data"]["periods"]["week"]
    assert len(week["rows"]) == 4 and week["origins"] > 0
    assert [i["level"] for i in week["rows"][0]["intervals"]] == [80, 95]
    assert all(0 <= i["held"] <= 100 for r in week["rows"] for i in r["intervals"])
    month = response.context["data"]["periods"]["month"]
    assert "Needs at least" in month["error"]  # 14 months are too few
    assert b"Held (80 %)" in response.content


def test_a_forecast_as_of_a_day_before_the_data_says_there_is_nothing(city):
    response = get(city, "workbench-outlook", as_of="2001-01-01")
    assert response.status_code == 200
    assert b"No incidents before 2001-01-01" in response.content


def test_pages_say_so_without_data(world):
    for name in ("workbench-trends", "workbench-outlook", "workbench-when"):
        response = get(world, name)
        assert response.status_code == 200 and b"import data" in response.content


@pytest.mark.parametrize("params", [
    {"area": "x"}, {"area": "7"}, {"area": "-1"}, {"category": "nonsense"},
    {"period": "year"}, {"as_of": "yesterday"}, {"from": "2024-13-01"},
    {"from": "2024-02-01", "to": "2024-01-01"},
])
def test_bad_parameters_get_a_clear_400(city, params):
    name = ("workbench-outlook" if "as_of" in params else
            "workbench-when" if "from" in params else "workbench-trends")
    response = get(city, name, **params)
    assert response.status_code == 400


def test_every_page_read_is_recorded(city):
    get(city, "workbench-trends", area=area_index(city, "North"), category="burglary")
    get(city, "workbench-trends-csv")
    get(city, "workbench-when")
    events = list(AccessEvent.objects.filter(action__startswith="workbench.")
                  .order_by("seq").values("action", "object_id", "details", "actor_role"))
    assert [(e["action"], e["object_id"]) for e in events] == [
        ("workbench.view", "trends"), ("workbench.export", "trends.csv"),
        ("workbench.view", "when")]
    assert events[0]["details"]["area"] == "North"
    assert events[0]["details"]["category"] == "burglary"
    assert events[0]["details"]["period"] == "week" and "period" not in events[2]["details"]
    assert events[0]["actor_role"] == "analyst"


def test_a_read_whose_record_fails_is_not_served(city, monkeypatch):
    break_audit_writes(monkeypatch)
    with pytest.raises(AuditWriteError):
        get(city, "workbench-trends")


def test_the_workspace_links_the_workbench_for_analysts_only(world):
    url = reverse("workbench", args=["alpha"])
    page = world.client_for("anna").get(reverse("agency-workspace", args=["alpha"]))
    assert url in page.content.decode()
    page = world.client_for("victor").get(reverse("agency-workspace", args=["alpha"]))
    assert url not in page.content.decode()
