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
        "() => document.querySelector('#trend-title').textContent.startsWith('Trend: area ')")
    title = page.locator("#trend-title").inner_text()
    assert title.startswith("Trend: area c")
    # the trend follows the selected months (2024-03 only), with its month on the axis
    assert page.locator("#trend-table tbody tr").count() == 1
    assert page.locator("#chart-months text").all_text_contents() == ["2024-03"]
    screenshot(page, "public-map")

    # keyboard alternative: the table's trend buttons
    page.locator(".trend-button").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#trend-title').textContent !== "
                           f"{title!r}")


def test_a_visitor_finds_the_map_from_the_home_page_and_a_neighbourhood_by_name(world, page):
    from predictions.demo import seed_neighbourhoods

    publish_alpha(world, n_days=100)  # 2024-01 .. 2024-04
    seed_neighbourhoods(world.alpha, world.anna)
    page.goto("/")
    page.get_by_role("link", name="Alpha Police: public crime map").click()
    page.wait_for_selector("#map[data-loaded][data-by='area']")
    assert page.locator("#map").get_attribute("data-places") == "9"
    # the legend says which values each colour stands for
    legend = page.locator("#legend").inner_text()
    assert "Published value per named area" in legend and "up to " in legend, legend

    page.get_by_label("Find a place").fill("old t")
    page.locator("#search-results button", has_text="Old Town").click()
    page.wait_for_function(
        "() => document.querySelector('#trend-title').textContent === 'Trend: Old Town'")
    months = page.locator("#chart-months text").all_text_contents()
    assert len(months) == 3 and all(len(m) == 7 and m[4] == "-" for m in months), months
    rows = page.locator("#trend-table tbody tr").count()
    assert rows == 4  # 2024-01 .. 2024-04, the default selection
    screenshot(page, "public-map-named-areas")

    # by cells, with the named areas' outlines drawn over them
    page.get_by_label("cells of 500 m").check()
    page.wait_for_selector("#map[data-loaded][data-by='cell']")
    assert page.locator(".leaflet-outlines-pane path").count() == 9


def test_both_maps_draw_tiles_from_a_local_tile_server_with_their_attribution(
        world, page, settings, password):
    import http.server
    import threading

    from tests.browser import sign_in

    tile = bytes.fromhex(  # a 1x1 grey PNG
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5d6ef5a0000000049454e44ae426082")
    seen: list[str] = []

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{{z}}/{{x}}/{{y}}.png"
        settings.LEAFLET_CONFIG = {"TILES": url, "ATTRIBUTION_PREFIX": "© Local test tiles"}
        publish_alpha(world, n_days=100)
        page.goto("/public/alpha/")
        page.wait_for_selector("#map[data-loaded]")
        page.wait_for_selector(".leaflet-tile-loaded")
        assert "© Local test tiles" in page.locator(".leaflet-control-attribution").inner_text()
        assert seen and all(p.endswith(".png") for p in seen)
        screenshot(page, "public-map-tiles")

        seen.clear()
        world.forecast  # noqa: B018
        sign_in(page, "anna", password)
        page.goto("/a/alpha/forecast/")
        page.get_by_label("Why are you opening this forecast?").select_option("analysis")
        page.get_by_role("button", name="Continue to the forecast").click()
        page.wait_for_selector("#map[data-drawn]")
        page.wait_for_selector(".leaflet-tile-loaded")
        assert "© Local test tiles" in page.locator(".leaflet-control-attribution").inner_text()
        assert seen
    finally:
        server.shutdown()
