"""The workbench's near repeats, intervention checks and CompStat reports (issue #22) on
hand-built incidents with known answers; every page read is in the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from audit.events import Action
from audit.models import AccessEvent
from predictions.models import CompStatReport, KnoxRun
from predictions.workbench import compstat
from predictions.workbench.compstat_tasks import schedule_weekly
from predictions.workbench.stats_actions import do_request_compstat, do_start_knox
from tests.workbench_samples import (
    IN_FAR,
    IN_NORTH,
    NEAR_FAR,
    NEAR_NORTH,
    NOWHERE,
    Incidents,
    days,
    forecast_with_top_cell_at,
    reference_layer,
)

WEEK = date(2024, 3, 4)  # a Monday


def events(action: Action):
    return AccessEvent.objects.filter(action=action)


# near repeats ---------------------------------------------------------------------------------
def six_repeated_places(agency) -> None:
    """Six places 2 km apart, each burgled twice a day apart, the places 10 days apart: six
    same-place pairs within 7 days where 6 x 6 / 66 = 0.545 are expected."""
    incidents = Incidents(agency)
    for k in range(6):
        where = (-90.30 + 0.025 * k, 38.60)
        for day in days(date(2024, 1, 1) + timedelta(days=10 * k), 2):
            incidents.add(day, where)


def start_knox(world, **overrides):
    params = {"category": "burglary", "start": date(2024, 1, 1), "end": date(2024, 3, 1),
              "distance_bands": [0, 100], "time_bands": [7, 30], "permutations": 99,
              "seed": 1, **overrides}
    return do_start_knox(world.alpha, acting_user=world.anna, **params)


def test_it_runs_a_near_repeat_analysis_and_stores_the_tables(
        world, django_capture_on_commit_callbacks):
    six_repeated_places(world.alpha)

    with django_capture_on_commit_callbacks(execute=True):
        run = start_knox(world)

    run.refresh_from_db()
    assert run.status == "done" and run.progress == 100 and run.attempts == 1
    result = run.result
    assert result["n_events"] == 12 and result["observed"][0] == [6, 0]
    assert result["expected"][0][0] == pytest.approx(6 * 6 / 66)
    assert result["p_value"][0][0] == pytest.approx(0.01)
    assert result["zones"]["same_place"]["days"] == 7 and result["zones"]["nearby"] is None
    assert events(Action.KNOX_START).get().actor_name == "anna"
    assert events(Action.KNOX_RUN).get().object_id == str(run.pk)


def test_its_page_tells_the_finding_in_words_and_records_the_read(
        world, django_capture_on_commit_callbacks):
    six_repeated_places(world.alpha)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_knox(world)

    page = world.client_for("anna").get(reverse("workbench-knox-run", args=["alpha", run.pk]))

    text = page.content.decode()
    assert "At the same place, another burglary within 7 days was 11.0 times as frequent" in text
    assert 'id="knox-table"' in text and "same place" in text
    assert events(Action.KNOX_VIEW).get().actor_name == "anna"


def test_a_second_delivery_of_a_done_analysis_does_nothing(
        world, django_capture_on_commit_callbacks):
    from predictions.workbench.knox_tasks import knox_test

    six_repeated_places(world.alpha)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_knox(world)

    assert knox_test(run.pk) is None
    assert KnoxRun.objects.get().attempts == 1 and events(Action.KNOX_RUN).count() == 1


def test_too_few_incidents_fail_the_analysis_with_the_reason(
        world, django_capture_on_commit_callbacks):
    Incidents(world.alpha).add(date(2024, 1, 2), IN_NORTH, count=3)

    with django_capture_on_commit_callbacks(execute=True):
        run = start_knox(world)

    run.refresh_from_db()
    assert run.status == "failed" and "Only 3 usable incidents" in run.error_message
    page = world.client_for("anna").get(reverse("workbench-knox-run", args=["alpha", run.pk]))
    assert "Only 3 usable incidents" in page.content.decode()


@pytest.mark.parametrize("field, value, message", [
    ("distance_bands", "100, 50", "edges must increase"),
    ("time_bands", "seven", "Numbers separated by commas"),
    ("permutations", "5000", "less than or equal to 999"),
    ("end", "2020-01-01", "ends before it starts"),
])
def test_the_form_refuses_bad_bands_and_periods_with_the_reason(world, field, value, message):
    data = {"category": "burglary", "start": "2024-01-01", "end": "2024-03-01",
            "distance_bands": "0, 100", "time_bands": "7, 30", "permutations": "99",
            "seed": "0", field: value}

    page = world.client_for("anna").post(reverse("workbench-knox", args=["alpha"]), data)

    assert page.status_code == 200 and message in page.content.decode()
    assert not KnoxRun.objects.exists()


def test_the_status_answers_the_progress(world, django_capture_on_commit_callbacks):
    six_repeated_places(world.alpha)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_knox(world)

    answer = world.client_for("anna").get(
        reverse("workbench-knox-status", args=["alpha", run.pk])).json()

    assert answer == {"status": "done", "status_display": "Done", "progress": 100, "error": ""}


# did it work? ---------------------------------------------------------------------------------
def patrolled(agency) -> None:
    """Before (15-28 Feb 2024) and during the patrol (1-14 March 2024):
    North 10 -> 4, Far (control) 8 -> 8, North's buffer 2 -> 5, Far's buffer 3 -> 3."""
    incidents = Incidents(agency)
    for where, before, after in ((IN_NORTH, 10, 4), (IN_FAR, 8, 8), (NEAR_NORTH, 2, 5),
                                 (NEAR_FAR, 3, 3)):
        incidents.add(date(2024, 2, 20), where, count=before)
        incidents.add(date(2024, 3, 5), where, count=after)
    incidents.add(date(2024, 3, 5), IN_NORTH, category="drugs", count=7)  # enforcement
    incidents.add(date(2024, 1, 5), IN_NORTH, count=9)  # before the compared periods


def wdd_page(world, **params):
    query = {"category": "", "start": "2024-03-01", "end": "2024-03-14", "treated": "0",
             "control": "1", "buffer_m": "200", **params}
    return world.client_for("anna").get(reverse("workbench-wdd", args=["alpha"]), query)


def test_it_gives_the_wdd_of_the_patrolled_area_with_its_interval(world):
    reference_layer(world.alpha)
    patrolled(world.alpha)

    page = wdd_page(world)

    answer = page.context["answer"]
    # WDD = (4 - 10) - (8 - 8) + (5 - 2) - (3 - 3) = -3; Var = 10+4+8+8+2+5+3+3 = 43
    assert [(c["name"], c["before"], c["after"]) for c in answer["counts"]] == [
        ("treated", 10, 4), ("control", 8, 8), ("displacement", 2, 5),
        ("displacement_control", 3, 3)]
    assert answer["result"]["wdd"] == -3 and answer["result"]["variance"] == 43
    assert answer["result"]["ci_low"] == pytest.approx(-3 - 1.959964 * 43**0.5, abs=1e-3)
    assert answer["before"] == ["2024-02-16", "2024-02-29"]
    assert "No clear effect" in answer["words"] and "a sign of displacement" in answer["words"]
    assert events(Action.WDD_VIEW).get().details["treated"] == ["North"]


def test_without_a_buffer_it_compares_the_two_areas_alone(world):
    reference_layer(world.alpha)
    patrolled(world.alpha)

    answer = wdd_page(world, buffer_m="0").context["answer"]

    assert answer["result"]["wdd"] == -6 and answer["result"]["variance"] == 30


@pytest.mark.parametrize("params, message", [
    ({"control": "0"}, "both patrolled and a control"),
    ({"end": "2024-02-01"}, "ends before it starts"),
    ({"treated": "7"}, "Select a valid choice"),
    ({"buffer_m": "5000"}, "less than or equal to 2000"),
])
def test_it_refuses_a_choice_it_cannot_compare_with_the_reason(world, params, message):
    reference_layer(world.alpha)

    page = wdd_page(world, **params)

    assert page.status_code == 400 and message in page.content.decode()
    assert not events(Action.WDD_VIEW).exists()


def test_it_refuses_a_control_inside_the_displacement_buffer(world):
    import json

    from predictions.models import AreaLayer
    layer = reference_layer(world.alpha)
    doc = json.loads(layer.geojson)  # a third area touching North's east edge
    w, s, e, n = -90.29, 38.60, -90.28, 38.61
    doc["features"].append({"type": "Feature", "properties": {"label": "Next door"},
                            "geometry": {"type": "Polygon", "coordinates": [
                                [[w, s], [e, s], [e, n], [w, n], [w, s]]]}})
    AreaLayer.objects.filter(pk=layer.pk).update(geojson=json.dumps(doc), sha256="three")

    page = wdd_page(world, control="2")

    assert page.status_code == 400
    assert "The patrolled area and the control area" not in page.content.decode()
    assert "overlap" in page.content.decode()


def test_without_named_areas_it_says_where_to_set_them(world):
    page = wdd_page(world)
    assert page.status_code == 200 and 'id="no-reference"' in page.content.decode()


# CompStat -------------------------------------------------------------------------------------
def compstat_world(agency) -> None:
    """The week of 4 March 2024 and the periods it is compared with (see the test)."""
    i = Incidents(agency)
    i.add(date(2024, 3, 5), IN_NORTH, count=2)
    i.add(date(2024, 3, 6), IN_FAR)
    i.add(date(2024, 3, 7), None)  # location withheld: counted, not placed
    i.add(date(2024, 3, 5), IN_NORTH, cancelled=True)  # never counted
    i.add(date(2024, 3, 5), IN_NORTH, category="robbery", count=2)
    i.add(date(2024, 2, 28), IN_NORTH)  # the previous week
    i.add(date(2024, 2, 15), NOWHERE, count=2)  # in the last 28 days
    i.add(date(2024, 1, 20), NOWHERE, count=4)  # the 28 days before
    i.add(date(2024, 1, 5), NOWHERE)  # this year
    i.add(date(2023, 2, 1), NOWHERE, count=5)  # last year to date
    i.add(date(2023, 3, 11), NOWHERE)  # last year, after the same day


def test_it_counts_each_category_this_week_28_days_and_year_to_date(world):
    compstat_world(world.alpha)

    table = compstat.category_counts(world.alpha, WEEK)

    burglary = next(r for r in table["rows"] if r["code"] == "burglary")
    assert (burglary["week"], burglary["previous_week"], burglary["week_change"]) == (4, 1, 300)
    assert (burglary["last_28"], burglary["previous_28"], burglary["d28_change"]) == (7, 4, 75)
    assert (burglary["ytd"], burglary["last_ytd"], burglary["ytd_change"]) == (12, 5, 140)
    robbery = next(r for r in table["rows"] if r["code"] == "robbery")
    assert (robbery["week"], robbery["previous_week"], robbery["week_change"]) == (2, 0, None)
    total = table["total"]
    assert (total["week"], total["last_28"], total["ytd"], total["last_ytd"]) == (6, 9, 14, 5)


def test_it_ranks_the_named_areas_of_the_week(world):
    reference_layer(world.alpha)
    compstat_world(world.alpha)

    areas = compstat.top_areas(world.alpha, WEEK)

    assert areas == {"rows": [
        {"name": "North", "week": 4, "previous_week": 1, "week_change": 300.0},
        {"name": "Far", "week": 1, "previous_week": 0, "week_change": None}], "outside": 0}


def test_it_gives_the_hit_rate_of_the_forecast_covering_the_week(world):
    compstat_world(world.alpha)
    forecast_with_top_cell_at(world.alpha, IN_NORTH, WEEK)

    (row,) = compstat.forecast_hits(world.alpha, WEEK)

    # 3 located burglaries; the 2 in North are in the top cell, Far is off the grid
    assert row["incidents"] == 3
    assert row["hits"]["1%"] == {"cells": 1, "hits": 2, "rate": 0.667}
    assert row["hits"]["5%"]["cells"] == 5 and row["hits"]["5%"]["hits"] == 2


def test_a_forecast_that_does_not_cover_the_week_is_left_out(world):
    compstat_world(world.alpha)
    forecast_with_top_cell_at(world.alpha, IN_NORTH, date(2024, 3, 6))

    assert compstat.forecast_hits(world.alpha, WEEK) == []


def test_the_weekly_round_makes_each_agencys_last_week_once(
        world, django_capture_on_commit_callbacks):
    compstat_world(world.alpha)
    tuesday = datetime(2024, 3, 12, 12, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        made = schedule_weekly(tuesday)
    with django_capture_on_commit_callbacks(execute=True):
        again = schedule_weekly(tuesday)

    assert len(made) == 2 and again == []  # alpha's and bravo's
    report = CompStatReport.objects.get(agency=world.alpha)
    assert report.week_start == WEEK and report.scheduled and report.status == "done"
    assert report.data["categories"]["total"]["week"] == 6
    assert bytes(report.pdf).startswith(b"%PDF-")
    assert events(Action.COMPSTAT_MAKE).count() == 2


def test_an_analyst_asks_for_a_report_and_downloads_its_pdf(
        world, django_capture_on_commit_callbacks):
    reference_layer(world.alpha)
    compstat_world(world.alpha)
    client = world.client_for("anna")

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("workbench-compstat", args=["alpha"]),
                             {"week": "2024-03-07"})
    report = CompStatReport.objects.get()
    page = client.get(answer["Location"])
    pdf = client.get(reverse("workbench-compstat-pdf", args=["alpha", report.pk]))

    assert report.week_start == WEEK and not report.scheduled
    assert 'id="compstat-categories"' in page.content.decode()
    assert "North" in page.content.decode()
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert list(events(Action.COMPSTAT_VIEW).values_list("details__format", flat=True)
                .order_by("pk")) == ["html", "pdf"]
    assert events(Action.COMPSTAT_REQUEST).get().actor_name == "anna"


def test_a_report_not_ready_has_no_pdf_yet(world):
    report = CompStatReport.objects.create(agency=world.alpha, week_start=WEEK)

    answer = world.client_for("anna").get(
        reverse("workbench-compstat-pdf", args=["alpha", report.pk]))

    assert answer.status_code == 409 and not events(Action.COMPSTAT_VIEW).exists()


def test_a_week_that_has_not_started_is_refused(world):
    with pytest.raises(compstat.CompStatRefused, match="not started"):
        do_request_compstat(world.alpha, week_start=date(2999, 1, 7), acting_user=world.anna)




def test_the_workbench_pages_and_the_pdf_are_not_stored(world):
    from tests.workbench_samples import done_compstat, done_knox_run

    run, report = done_knox_run(world.alpha, world.anna), done_compstat(world.alpha, world.anna)
    client = world.client_for("anna")
    for url in [reverse("workbench-knox-run", args=["alpha", run.pk]),
                reverse("workbench-compstat-report", args=["alpha", report.pk]),
                reverse("workbench-compstat-pdf", args=["alpha", report.pk])]:
        answer = client.get(url)
        assert answer.status_code == 200 and "no-store" in answer["Cache-Control"], url
