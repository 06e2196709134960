"""Onboarding in a real browser, with MFA_REQUIRED on, from nothing to a first forecast: a
platform administrator creates an agency (St. Louis's boundary drawn on the map before
saving) and invites its first admin, who accepts, sets a password and an authenticator app,
signs in again with a code and invites an analyst, who uploads three months of SLMPD's published
incidents, trains a model and opens its forecast."""

import json
import tarfile

import pytest
from django.contrib.auth import get_user_model

from agencies.models import Agency
from predictions.models import Forecast, Incident
from tests.browser import screenshot, sign_in
from tests.factories import PASSWORD, UserFactory
from tests.onboarding_helpers import NEW_PASSWORD, enrolled, last_link, totp_code
from tests.test_import import DATA, SLMPD_TAR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
STL_BOUNDARY = DATA / "stl" / "geo" / "stl_city_boundary.geojson"
MONTHS = [f"data/raw/2019/{m}2019.csv" for m in ("january", "february", "march")]


def accept(page, link: str, username: str):
    """Open an invitation link, create the account, enrol the authenticator app; the user."""
    page.goto(link)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    assert page.get_by_role("heading", name="Set your second factor").is_visible()
    user = get_user_model().objects.get(username=username)
    enter_code(page, totp_code(user), "Confirm")
    assert page.locator("#recovery-codes li").count() == 10
    return user



def enter_code(page, code, button):
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name=button).click()


def test_a_new_agency_gets_its_first_admin_in_the_browser(page, settings, tmp_path):
    settings.MFA_REQUIRED = True
    staff = UserFactory(username="pat", is_staff=True)
    enrolled(staff)
    boundary = tmp_path / "harbour.geojson"
    boundary.write_text(STL_BOUNDARY.read_text())
    geometry = json.loads(STL_BOUNDARY.read_text())["features"][0]["geometry"]

    # the platform administrator: password, then the code of their app
    sign_in(page, "pat", PASSWORD)
    assert page.get_by_role("heading", name="Enter your code").is_visible()
    enter_code(page, totp_code(staff), "Verify")
    page.get_by_role("link", name="New agency").click()

    # fills in the new agency; the chosen boundary is drawn before anything is saved
    page.get_by_label("Name").fill("Harbour Police")
    page.get_by_label("Slug").fill("harbour")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_label("Default forecast cell size (m)").fill("250")
    page.get_by_label("Boundary (GeoJSON file, WGS84)").set_input_files(str(boundary))
    page.wait_for_selector("#map[data-drawn='MultiPolygon']")
    assert page.locator("#map path.leaflet-interactive").count() == 1
    assert "Shown below: harbour.geojson" in page.locator("#boundary-status").inner_text()
    assert not Agency.objects.filter(slug="harbour").exists()
    screenshot(page, "onboarding-1-new-agency-boundary")
    page.get_by_role("button", name="Create the agency").click()

    # ...and invites its first admin
    assert page.get_by_role("heading", name="Harbour Police").is_visible()
    assert Agency.objects.get(slug="harbour").boundary == geometry
    page.get_by_label("Email").fill("chief@harbour.example")
    page.get_by_role("button", name="Send the invitation").click()
    assert "chief@harbour.example" in page.locator("#invitations").inner_text()
    screenshot(page, "onboarding-2-invitation-sent")
    page.get_by_role("button", name="Sign out").click()

    # the invitee opens the emailed link, chooses a username and a password
    page.goto(last_link("chief@harbour.example"))
    assert page.get_by_role("heading", name="Join Harbour Police").is_visible()
    page.get_by_label("Username").fill("chief")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()

    # ...then sets the authenticator app (QR code or key) before anything else
    assert page.get_by_role("heading", name="Set your second factor").is_visible()
    assert page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "onboarding-3-second-factor")
    from django.contrib.auth import get_user_model

    chief = get_user_model().objects.get(username="chief")
    enter_code(page, totp_code(chief), "Confirm")
    assert page.locator("#recovery-codes li").count() == 10
    screenshot(page, "onboarding-4-recovery-codes")
    page.get_by_role("link", name="Continue").click()
    assert page.get_by_role("heading", name="Harbour Police").is_visible()
    assert "admin" in page.locator(".meta").inner_text()

    # signing in again asks for the code after the password
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "chief", NEW_PASSWORD)
    assert page.get_by_role("heading", name="Enter your code").is_visible()
    screenshot(page, "onboarding-5-code-after-password")
    enter_code(page, totp_code(chief), "Verify")
    page.get_by_role("link", name="Harbour Police").click()
    page.get_by_role("link", name="Invitations: invite by email, resend, revoke").click()
    assert "accepted by chief" in page.locator("#invitations").inner_text()
    screenshot(page, "onboarding-6-invitations")

    # the admin invites an analyst, who joins the same way
    page.get_by_label("Email").fill("ana@harbour.example")
    page.get_by_label("Role").select_option("analyst")
    page.get_by_role("button", name="Send the invitation").click()
    assert "ana@harbour.example" in page.locator("#invitations").inner_text()
    page.get_by_role("button", name="Sign out").click()
    accept(page, last_link("ana@harbour.example"), "ana")
    page.get_by_role("link", name="Continue").click()
    assert "analyst" in page.locator(".meta").inner_text()

    # the analyst uploads three months of SLMPD's published files (a backtest needs 70 days)
    files = []
    with tarfile.open(SLMPD_TAR) as tar:
        for member in MONTHS:
            files.append(tmp_path / member.rsplit("/", 1)[1])
            files[-1].write_bytes(tar.extractfile(member).read())
    page.goto("/a/harbour/data/")
    page.get_by_label("Incident files").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Upload and preview").click()
    assert "Detected format: slmpd" in page.locator("main").inner_text()
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("table.counts", timeout=120_000)
    imported = Incident.objects.filter(agency__slug="harbour").count()
    assert imported > 9000
    screenshot(page, "onboarding-7-first-months-imported")

    # ...trains a burglary model on it and opens the forecast
    page.goto("/a/harbour/models/")
    page.get_by_label("Name").fill("Burglary, next week")
    page.get_by_label("Category").select_option("burglary")
    page.get_by_label("Method").select_option("kde")
    page.get_by_role("button", name="Create and train").click()
    page.wait_for_selector("#status[data-status='done']", timeout=180_000)
    screenshot(page, "onboarding-8-first-model-trained")
    page.get_by_role("link", name="Open its forecast").click()
    page.get_by_label("Why are you opening this forecast?").select_option("analysis")
    page.get_by_role("button", name="Continue to the forecast").click()
    page.wait_for_selector("#map[data-drawn]", timeout=60_000)
    assert Forecast.objects.filter(model__agency__slug="harbour").exists()
    screenshot(page, "onboarding-9-first-forecast")
