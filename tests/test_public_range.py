"""The publication range: months before the data becomes meaningful are never released or
charged; the admin sees what will be published and what it costs before switching it on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from audit.models import AccessEvent
from predictions.models import Incident
from public.models import BudgetEntry, PublicRelease
from public.publish import add_months, months_due, publish_agency, release_month, suggested_start

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def months(first: date, n: int, count: int) -> dict[date, int]:
    return {add_months(first, i): count for i in range(n)}


def test_it_starts_where_the_counts_become_steady_not_at_stray_old_records():
    counts = {date(1995, 1, 1): 1, date(2001, 6, 1): 2, date(2004, 12, 1): 1,
              **months(date(2015, 1, 1), 60, 4000)}
    assert suggested_start(counts) == date(2015, 1, 1)


def test_a_thin_first_month_still_counts_and_a_partial_last_month_moves_nothing():
    counts = {date(2020, 1, 1): 700, **months(date(2020, 2, 1), 23, 3000), date(2022, 1, 1): 40}
    assert suggested_start(counts) == date(2020, 1, 1)


def test_many_months_of_stray_records_do_not_lower_the_bar():
    """SLMPD 2015-2019 holds records in 140 earlier months (1 to 331 a month)."""
    stray = {add_months(date(2003, 1, 1), i): 1 + i % 5 for i in range(140)}
    counts = {**stray, date(2014, 12, 1): 331, **months(date(2015, 1, 1), 60, 3900)}
    assert suggested_start(counts) == date(2015, 1, 1)


def test_a_gap_in_the_data_starts_the_range_after_it_when_the_later_run_holds_more():
    counts = {**months(date(2010, 1, 1), 6, 1000), **months(date(2012, 1, 1), 24, 1000)}
    assert suggested_start(counts) == date(2012, 1, 1)
    assert suggested_start({}) is None


def stray_records(world, n: int = 3) -> None:
    """Old incidents reported years late, as SLMPD's files hold, inside the city."""
    dataset = world.dataset
    inside = Incident.objects.filter(agency=world.alpha).usable().first()
    for i in range(n):
        Incident.objects.create(
            agency=world.alpha, dataset=dataset, source_id=f"old-{i}", category="theft",
            raw_category="THEFT", occurred_at=datetime(2001 + i, 3, 1, 12, tzinfo=UTC),
            lon=inside.lon, lat=inside.lat)


def test_an_agency_with_stray_old_records_publishes_nothing_before_its_range(published):
    stray_records(published)
    publish_agency(published.alpha.pk, now=NOW)
    released = sorted(PublicRelease.objects.filter(agency=published.alpha)
                      .values_list("month", flat=True))
    assert released == [date(2024, m, 1) for m in range(1, 6)]
    charged = sorted(BudgetEntry.objects.filter(agency=published.alpha)
                     .values_list("month", flat=True))
    assert charged == released
    with pytest.raises(ValueError, match="before the publication range"):
        release_month(published.alpha.pk, date(2003, 3, 1))
    assert not PublicRelease.objects.filter(month__lt=date(2024, 1, 1)).exists()


def test_the_agency_setting_moves_the_start(world):
    world.forecast  # noqa: B018 - the synthetic city, 2024-01 .. 2024-05
    world.alpha.public_start_month = date(2024, 3, 1)
    assert months_due(world.alpha, NOW) == [date(2024, m, 1) for m in (3, 4, 5)]


def test_the_admin_sees_the_plan_before_switching_publishing_on(world):
    world.forecast  # noqa: B018
    stray_records(world)
    html = world.client_for("alice").get(
        reverse("public-publishing", args=["alpha"])).content.decode()
    assert "Publication range: from <strong>2024-01</strong>" in html
    assert "3 incidents recorded before it (from 2001-03) are never published" in html
    assert "months due now cost</th><td>" in html
    assert AccessEvent.objects.filter(action="public.publish_now").count() == 0
    assert not PublicRelease.objects.exists()  # looking publishes nothing


@pytest.mark.parametrize(("who", "status"), [("anna", 403), ("bob", 404), ("carol", 404)])
def test_only_the_agencys_admin_reaches_the_publishing_page(world, who, status):
    url = reverse("public-publishing", args=["alpha"])
    assert world.client_for(who).get(url).status_code == status
    assert world.client_for("anonymous").get(url).status_code == 302


def test_switching_on_and_publish_now_release_the_due_months_and_are_recorded(
        world, django_capture_on_commit_callbacks):
    world.forecast  # noqa: B018
    client = world.client_for("alice")
    url = reverse("public-publishing", args=["alpha"])
    response = client.post(url, {"publishes_public_map": "on", "start_month": "2024-02"})
    assert response.status_code == 302
    world.alpha.refresh_from_db()
    assert world.alpha.publishes_public_map and world.alpha.public_start_month == date(2024, 2, 1)
    settings_event = AccessEvent.objects.get(action="agency.settings_change")
    assert settings_event.details == {"fields": ["public_start_month", "publishes_public_map"]}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("public-publish-now", args=["alpha"]))
    released = sorted(PublicRelease.objects.filter(agency=world.alpha)
                      .values_list("month", flat=True))
    assert released == [date(2024, m, 1) for m in (2, 3, 4, 5)]
    assert AccessEvent.objects.filter(action="public.publish_now", actor_name="alice").exists()


def test_publish_now_does_nothing_while_publishing_is_off(world):
    world.forecast  # noqa: B018
    world.client_for("alice").post(reverse("public-publish-now", args=["alpha"]))
    assert not PublicRelease.objects.exists()
    assert not AccessEvent.objects.filter(action="public.publish_now").exists()


def test_the_method_page_shows_the_ledger(published):
    html = published.client_for("anonymous").get(
        reverse("public-method", args=["alpha"])).content.decode()
    assert html.count("<tr><td>2024-0") == 5
    assert 'id="ledger"' in html


def test_anonymous_visitors_find_the_public_map_and_transparency_from_home(published):
    html = published.client_for("anonymous").get("/").content.decode()
    assert 'href="/public/alpha/"' in html and 'href="/transparency/alpha/"' in html
    page = published.client_for("anonymous").get("/transparency/alpha/").content.decode()
    assert 'href="/public/alpha/"' in page


@pytest.mark.skipif(not (DATA / "stl").exists(), reason="needs ../shared/data (St. Louis)")
def test_st_louis_publishes_exactly_its_sixty_months_and_the_ledger_balances(world):
    alpha = world.alpha
    call_command("import_incidents", "--agency", "alpha",
                 str(DATA / "stl" / "slmpd_raw_monthly_2015_2019.tar.gz"), stdout=None)
    boundary = json.loads((DATA / "stl" / "geo" / "stl_city_boundary.geojson").read_text())
    geometry = boundary["features"][0]["geometry"] if "features" in boundary else boundary
    alpha.refresh_from_db()
    alpha.boundary, alpha.publishes_public_map = geometry, True
    alpha.save(update_fields=["boundary", "publishes_public_map"])
    first = Incident.objects.filter(agency=alpha).usable().order_by("occurred_at").first()
    assert first.occurred_at.year < 2015  # the files hold records dated years back
    result = publish_agency(alpha.pk, now=NOW)
    released = list(PublicRelease.objects.filter(agency=alpha).order_by("month")
                    .values_list("month", flat=True))
    assert released == [add_months(date(2015, 1, 1), i) for i in range(60)]
    assert result == {"agency": "alpha", "released": 60, "already": 0, "refused": 0,
                      "skipped": ""}
    ledger = BudgetEntry.objects.filter(agency=alpha)
    assert sorted(ledger.values_list("month", flat=True)) == released
    assert ledger.aggregate(s=Sum("epsilon"))["s"] == pytest.approx(
        PublicRelease.objects.filter(agency=alpha).aggregate(s=Sum("epsilon"))["s"])


def test_the_csv_holds_the_chosen_crime_type_and_numbers_as_numbers(published):
    import csv
    import io

    response = published.client_for("anonymous").get(
        reverse("public-download", args=["alpha", "csv"]), {"category": "homicide"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows and {r["category"] for r in rows} == {"homicide"}
    negative = [r["published_value"] for r in rows if r["published_value"].lstrip("'")[0] == "-"]
    assert negative, "homicide's noisy zeros include negative values"
    assert all(v.startswith("-") and int(v) < 0 for v in negative)  # no quote before them


def test_the_trend_follows_the_selected_months_with_axes_and_month_labels(published):
    client = published.client_for("anonymous")
    trend = client.get(reverse("public-api-trend", args=["alpha"]),
                       {"category": "theft", "from": "2024-02", "to": "2024-03"}).json()
    assert [p["month"] for p in trend["points"]] == ["2024-02", "2024-03"]
    html = client.get(reverse("public-map", args=["alpha"]),
                      {"category": "theft", "from": "2024-02", "to": "2024-04"}).content.decode()
    table = html.split('id="trend-table"')[1].split("</table>")[0]
    assert table.count("<tr><td>2024-0") == 3
    labels = html.split('id="chart-months"')[1].split("</g>")[0]
    assert ">2024-02</text>" in labels and ">2024-04</text>" in labels
    assert 'id="chart-top"' in html and 'id="chart-low"' in html
