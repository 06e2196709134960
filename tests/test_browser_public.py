"""The public map in a real browser: an anonymous visitor changes category and month, clicks
an area and reads its trend."""

import pytest

from tests.browser import screenshot
from tests.public_samples import publish_alpha

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_changes_category_and_month_and_reads_an_area_trend(world, page):
    publish_alpha(world, n_days=100)  # 2024-01 .. 2024-04
    page.goto("/public/alpha/")
    page.wait_for_selector("#map[data-loaded]")
    assert int(page.locator("#map").get_attribute("data-loaded")) > 50

    page.get_by_label("Crime type").select_option("theft")
    page.wait_for_selector('#map[data-loaded][data-category="theft"]')
    page.get_by_label("From month").select_option("2024-03")
    page.get_by_label("To month").select_option("2024-03")
    page.wait_for_selector('#map[data-loaded][data-period="2024-03/2024-03"]')
    assert "Theft, 2024-03 to 2024-03" in page.locator("#map-title").inner_text()
    assert "category=theft" in page.get_by_role("link", name="Download CSV").get_attribute("href")

    page.locator("#map path.leaflet-interactive").nth(10).click(force=True)
    # (the whole area's trend is "city": wait for the clicked area's own title)
    page.wait_for_function(
        "document.querySelector('#trend-title').textContent.startsWith('Trend: area ')")
    title = page.locator("#trend-title").inner_text()
    assert title.startswith("Trend: area c")
    # the trend follows the selected months (2024-03 only), with its month on the axis
    assert page.locator("#trend-table tbody tr").count() == 1
    assert page.locator("#chart-months text").all_text_contents() == ["2024-03"]
    screenshot(page, "public-map")

    # keyboard alternative: the table's trend buttons
    page.locator(".trend-button").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#trend-title').textContent !== "
                           f"{title!r}")
