"""The upload page in a real browser: pick files, see the detected format and a preview,
import, watch the progress, read the summary and the error report."""

from pathlib import Path

import pytest

from tests.browser import screenshot, sign_in
from tests.test_import import DATA, SLMPD_TAR
from tests.worker import share_cache_with_workers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PORTLAND = [DATA / "portland" / "NIJ2016_AUG01_AUG31.zip",
            DATA / "portland" / "NIJ2016_SEP01_SEP30.zip"]


def counts(page) -> dict[str, str]:
    """The summary table: row heading -> value."""
    return {row.locator("th, td").first.inner_text(): row.locator("td").last.inner_text()
            for row in page.locator("table.counts tr").all()}


def upload(page, paths) -> None:
    page.goto("/a/alpha/data/")
    page.get_by_label("Incident files").set_input_files([str(p) for p in paths])
    page.get_by_role("button", name="Upload and preview").click()


def test_two_portland_packages_upload_preview_import_and_report(world, password, page):
    # given an analyst who picks both Portland shapefile packages at once
    sign_in(page, "anna", password)
    upload(page, PORTLAND)

    # then the page names the format and previews the first rows, nothing imported yet
    assert "Detected format: nij_shapefile" in page.locator("main").inner_text()
    assert page.locator(".scroll table tbody tr").count() == 20

    # when they import (tasks run in-process here), then the summary accounts for each row
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("table.counts")
    summary = counts(page)
    assert (summary["Rows read"], summary["Incidents imported"]) == ("37819", "37818")
    assert (summary["Rows rejected"], summary["missing_id"]) == ("1", "1")
    screenshot(page, "upload-summary")

    # and the error report names the rejected row
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the error report (CSV)").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "missing_id" in lines[1]


@pytest.mark.worker
def test_all_sixty_slmpd_months_import_through_the_page_with_live_progress(
        world, password, page, start_worker, settings):
    # given a real worker, sharing the broker's Redis as the cache for progress reports
    start_worker(CACHE_URL=share_cache_with_workers(settings))

    # when an analyst uploads the department's archive of 60 monthly files and imports it
    sign_in(page, "anna", password)
    upload(page, [SLMPD_TAR])
    assert "Detected format: slmpd" in page.locator("main").inner_text()
    page.get_by_role("button", name="Import", exact=True).click()

    # then the bar shows how much of the upload has been read while the worker imports
    page.wait_for_function(
        "() => { const bar = document.getElementById('import-progress');"
        " return bar && bar.value > 0 && bar.value < 100; }", polling=100, timeout=120_000)
    assert "% of the upload" in page.locator("#progress-text").inner_text()
    screenshot(page, "upload-progress")

    # and the page turns into the summary by itself when the import is done
    page.wait_for_selector("table.counts", timeout=240_000)
    summary = counts(page)
    assert summary["Rows read"] == "246291"
    assert (summary["Incidents imported"], summary["Rows rejected"]) == ("237124", "8")
    assert summary["Cancelling records (such as SLMPD's Count = -1)"] == "3140"
    assert summary["Incidents cancelled by cancelling records"] == "2995"
