"""The workbench's statistics in a real browser (issue #22): an analyst runs a near-repeat
analysis and reads its finding, asks for a CompStat report and downloads its PDF."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import screenshot, sign_in
from tests.test_workbench_stats import compstat_world, six_repeated_places
from tests.workbench_samples import reference_layer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_analyst_runs_a_near_repeat_analysis_and_reads_the_finding(world, password, page):
    six_repeated_places(world.alpha)
    sign_in(page, "anna", password)

    page.goto("/a/alpha/")
    page.get_by_role("link", name="Open the analyst's workbench").click()
    page.get_by_role("link", name="Near repeats", exact=True).click()
    page.get_by_label("Start").fill("2024-01-01")
    page.get_by_label("End").fill("2024-03-01")
    page.get_by_label("Distance bands (metres)").fill("0, 100")
    page.get_by_label("Time bands (days)").fill("7, 30")
    page.get_by_role("button", name="Run the test").click()

    finding = page.wait_for_selector("#finding")
    assert "At the same place, another burglary within 7 days" in finding.inner_text()
    assert page.locator("#knox-table td.k3").count() == 1  # the same place, within 7 days
    screenshot(page, "workbench-knox")


def test_an_analyst_makes_a_compstat_report_and_downloads_its_pdf(world, password, page):
    reference_layer(world.alpha)
    compstat_world(world.alpha)
    sign_in(page, "anna", password)

    page.goto("/a/alpha/workbench/compstat/")
    page.get_by_label("A day of the week").fill("2024-03-07")
    page.get_by_role("button", name="Make the report").click()

    page.wait_for_selector("#pdf-link")
    table = page.locator("#compstat-categories").inner_text()
    assert "Burglary" in table and "300%" in table
    assert "North" in page.locator("#compstat-areas").inner_text()
    screenshot(page, "workbench-compstat")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    assert download.value.suggested_filename == "compstat-alpha-2024-03-04.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    page.goto("/a/alpha/workbench/compstat/")
    assert "2024-03-04 to 2024-03-10" in page.locator("#compstat-reports").inner_text()
