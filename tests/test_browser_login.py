"""Signing in and reaching the workspace in a real browser."""

import pytest

from tests.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_analyst_signs_in_and_opens_the_workspace(world, password, page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Alpha Police").click()

    assert page.get_by_role("heading", name="Alpha Police").is_visible()
    assert "analyst" in page.locator(".meta").inner_text()
    screenshot(page, "workspace")


def test_a_wrong_password_is_explained(world, page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
