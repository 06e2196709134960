"""The forecast map in a real browser: purpose, cells drawn, a popup, an export."""

import pytest

from tests.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username, password):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


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
