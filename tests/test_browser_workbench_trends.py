"""The analyst's workbench in a real browser, on the synthetic city and its neighbourhoods:
an analyst goes from the workspace to the trends page, picks a neighbourhood, downloads the
CSV, then opens the when page (no Content-Security-Policy breach on the way)."""

import pytest

from tests.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def synthetic_city(world):
    from predictions.demo import MAPPING, seed_neighbourhoods, synthetic_csv
    from tests.samples import import_sample

    text, boundary = synthetic_csv(n_days=400)
    world.alpha.boundary = boundary
    world.alpha.save(update_fields=["boundary"])
    import_sample(world.alpha, world.anna, text=text, mapping=MAPPING, name="city.csv")
    seed_neighbourhoods(world.alpha, world.anna)
    return world


def test_an_analyst_opens_the_trends_and_when_pages(synthetic_city, password, page):
    sign_in(page, "anna", password)
    page.goto("/a/alpha/")
    page.get_by_role("link", name="Open the analyst's workbench").click()
    page.get_by_role("link", name="Trends", exact=True).first.click()
    page.wait_for_selector("svg.trend-chart polyline.now")
    assert page.locator("#summary tbody tr").count() >= 4  # all, and each category

    page.get_by_label("Area").select_option(label="Old Town")
    page.get_by_label("Category").select_option("burglary")
    page.get_by_label("Period").select_option("month")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("h1:has-text('Burglary, Old Town')")
    first = page.locator("#series tbody tr").first.inner_text()
    assert "incomplete" in first or first[:4].isdigit()
    screenshot(page, "workbench-trends")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith("-month.csv")

    page.get_by_role("link", name="When", exact=True).click()
    page.wait_for_selector("#hour-weekday tbody tr")
    assert page.locator("#hour-weekday tbody tr").count() == 24
    # the page keeps the chosen area and category only when asked: here, the whole city
    total = page.locator("#hour-weekday tfoot td").last.inner_text()
    assert int(total) > 0
    page.get_by_label("Area").select_option(label="Old Town")
    page.get_by_role("button", name="Show").click()
    page.wait_for_function("() => document.querySelector('h1').textContent.includes('Old Town')")
    assert int(page.locator("#hour-weekday tfoot td").last.inner_text()) < int(total)
    assert page.locator("#month-profile tbody tr").count() == 12
    screenshot(page, "workbench-when")
