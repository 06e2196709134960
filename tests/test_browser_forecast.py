"""The forecast map in a real browser: purpose, cells drawn, a popup, an export."""

import pytest

from tests.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_analyst_opens_the_map_reads_a_popup_and_exports(world, password, page):
    forecast = world.forecast
    sign_in(page, "anna", password)
    page.goto("/a/alpha/forecast/")
    page.get_by_label("Why are you opening this forecast?").select_option("analysis")
    page.get_by_role("button", name="Continue to the forecast").click()

    page.wait_for_selector("#map[data-loaded]")
    assert page.locator("#map").get_attribute("data-loaded") == str(forecast.n_cells)

    page.locator("#map").click(position={"x": 300, "y": 260})
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Rank" in popup.inner_text()
    screenshot(page, "forecast-map")

    page.get_by_label("Patrol areas").select_option("0.05")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#map[data-loaded]")
    assert page.locator("#top-cells tbody tr").count() == 20

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_a_popup_names_the_strongest_features_and_the_incidents_layer_toggles(
        world, password, page):
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from audit.models import AccessEvent
    from predictions.models import Incident
    from tests.samples import make_forecast

    forecast = make_forecast(world.alpha, world.anna, method="hgb_poisson",
                             parameters={"n_origins": 8, "estimator_params": {"max_iter": 40}})
    sign_in(page, "anna", password)
    page.goto("/a/alpha/forecast/")
    page.get_by_label("Why are you opening this forecast?").select_option("analysis")
    page.get_by_role("button", name="Continue to the forecast").click()
    page.wait_for_selector("#map[data-drawn]")
    # the layer is preloaded with the page; the map's script uses that very response
    assert AccessEvent.objects.filter(action="forecast.map_layer").count() == 1

    # the table's first rank opens its cell's popup on the map
    page.get_by_role("button", name="Rank 1: open its popup on the map").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "Rank 1 of" in text
    assert "strongest features" in text and "if this were typical" in text
    assert "incidents in and around this cell" in text
    screenshot(page, "forecast-popup-features")
    page.locator(".leaflet-popup-close-button").click()

    zone = ZoneInfo(world.alpha.timezone)
    end = datetime.combine(forecast.window_start, time.min, zone)
    recent = Incident.objects.filter(agency=world.alpha, category="burglary",
                                     occurred_at__gte=end - timedelta(days=28),
                                     occurred_at__lt=end).count()
    assert recent > 0
    toggle = page.get_by_label("Show recent incidents")
    toggle.check()
    page.wait_for_selector("#map[data-incidents='shown']")
    assert page.locator("#map").get_attribute("data-incident-count") == str(recent)
    assert f"{recent} incidents" in page.locator("#incidents-status").inner_text()
    screenshot(page, "forecast-incidents-layer")
    toggle.uncheck()
    page.wait_for_selector("#map[data-incidents='hidden']")


def test_an_analysts_popup_names_the_neighbourhood_and_the_csv_says_where(world, password,
                                                                           page):
    import csv
    from pathlib import Path

    from tests.test_places import make_reference

    forecast = world.forecast
    layer = make_reference(world)  # the synthetic tracts name the areas
    sign_in(page, "anna", password)
    page.goto("/a/alpha/forecast/")
    page.get_by_label("Why are you opening this forecast?").select_option("analysis")
    page.get_by_role("button", name="Continue to the forecast").click()
    page.wait_for_selector("#map[data-drawn]")
    page.wait_for_selector("#map[data-reference]")
    assert page.locator("#map").get_attribute("data-reference") == str(layer.n_features)
    page.locator("#top-cells button[data-rank='1']").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert f"Rank 1 of {forecast.n_cells} · Tract " in text and "Centre " in text, text
    assert " block " in text.split("nearest recorded address: ")[1], text
    # the legend gives each shade's share of cells and scores
    assert page.locator("#forecast-legend .legend-item").count() == 5
    assert "top 1 %" in page.locator("#forecast-legend").inner_text()
    # find a place: a tract by name, a street among the recorded addresses
    page.get_by_label("Find a place").fill("oak ave")
    page.get_by_role("button", name="Find", exact=True).click()
    page.wait_for_selector("#search-results[data-count]")
    first = page.locator("#search-results button").first
    assert "Oak Ave (recorded address)" in first.inner_text()
    first.click()
    assert "Oak Ave" in page.locator("#map").get_attribute("data-found")
    screenshot(page, "forecast-map-places")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(Path(download.value.path()).read_text().splitlines()))
    assert rows and all(r["place"].startswith("Tract ") and r["lat"] and r["lon"] for r in rows)


def test_the_fair_selection_is_chosen_on_the_map_and_drawn(world, password, page):
    from audit.models import AccessEvent
    from tests.samples import make_forecast

    forecast = make_forecast(world.alpha, world.anna, tracts=True)
    sign_in(page, "anna", password)
    page.goto("/a/alpha/forecast/")
    page.get_by_label("Why are you opening this forecast?").select_option("analysis")
    page.get_by_role("button", name="Continue to the forecast").click()
    page.wait_for_selector("#map[data-drawn]")
    page.get_by_label("Patrol areas").select_option("0.05")
    page.get_by_label("Selection").select_option("fair")
    page.get_by_role("button", name="Show").click()
    page.wait_for_function("() => document.getElementById('map').dataset.selection === 'fair'")
    drawn = [int(r) for r in page.locator("#map").get_attribute("data-flagged-ranks").split(",")]
    table = [int(r) for r in page.locator("#top-cells button[data-rank]").evaluate_all(
        "(els) => els.map((e) => e.dataset.rank)")]
    assert drawn == table and len(drawn) == round(0.05 * forecast.n_cells)
    assert "Fairness-aware selection" in page.locator("#patrol-selection").inner_text()
    layer = AccessEvent.objects.filter(action="forecast.map_layer").order_by("-seq").first()
    assert layer.details["selection"] == "fair"
