"""Second factors: with MFA_REQUIRED, members and board members enrol before anything else;
whoever has a factor passes it after the password; codes work once; admins reset a
member's factor. The suite signs users in with force_login and runs with MFA_REQUIRED off
(portal/settings.py): these tests turn it on where they test it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AccessEvent
from tests.onboarding_helpers import enrolled, sign_in, totp_code
from tests.test_settings_env import settings_value

WORKSPACE = "/a/alpha/"


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED = True


def last(action):
    return AccessEvent.objects.filter(action=action).order_by("-seq").first()


def wait_out_the_throttle(user) -> None:
    """django-otp waits 2**(n-1) seconds after the n-th wrong code: let that time pass."""
    TOTPDevice.objects.filter(user=user).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=60))


def signed_in(world, name, password) -> Client:
    client = Client()
    assert sign_in(client, name, password).status_code == 302
    return client


# --- the setting ------------------------------------------------------------------------------

def test_mfa_is_required_by_default_unless_debug():
    assert settings_value("settings.MFA_REQUIRED", {"DEBUG": "0", "SECRET_KEY": "x" * 50}
                          ).stdout.strip() == "True"
    assert settings_value("settings.MFA_REQUIRED", {"DEBUG": "1"}).stdout.strip() == "False"
    assert settings_value("settings.MFA_REQUIRED", {"DEBUG": "1", "MFA_REQUIRED": "1"}
                          ).stdout.strip() == "True"


def test_the_test_suite_runs_without_it_unless_told():
    import os

    expected = os.environ.get("MFA_REQUIRED", "0").lower() in {"1", "true", "yes", "on"}
    assert django_settings.MFA_REQUIRED is expected


# --- enforcement ------------------------------------------------------------------------------

def test_it_sends_a_member_without_a_factor_to_enrol_before_anything_else(world, required):
    client = world.client_for("anna")
    for path in [WORKSPACE, "/", "/accounts/token/", "/a/alpha/data/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"{reverse('mfa-setup')}?next={path.replace('/', '%2F')}"
    api = client.get("/api/v1/agencies/")
    assert (api.status_code, "second factor" in api.json()["detail"]) == (403, True)


def test_it_leaves_enrolment_sign_out_public_pages_and_healthz_open(world, required):
    client = world.client_for("anna")
    for path in [reverse("mfa-setup"), "/healthz/", "/transparency/alpha/"]:
        assert client.get(path).status_code == 200, path
    # (static files are served by the web server in front; here only: not held back)
    assert client.get("/static/js/boundary_preview.js").status_code == 404
    assert client.post(reverse("logout")).status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_board_members_enrol_too(world, required):
    response = world.client_for("carol").get("/oversight/")
    assert response["Location"].startswith(reverse("mfa-setup"))


def test_an_account_without_membership_is_not_held(world, required):
    assert world.client_for("dave").get("/").status_code == 200


def test_without_mfa_required_members_go_on(world, settings):
    settings.MFA_REQUIRED = False
    assert world.client_for("anna").get(WORKSPACE).status_code == 200


# --- enrolment --------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_the_key(world, required):
    response = world.client_for("anna").get(reverse("mfa-setup"))
    assert response.context["qr"].startswith("data:image/svg+xml;base64,")
    device = TOTPDevice.objects.get(user=world.anna, confirmed=False)
    assert response.context["secret"].replace(" ", "")
    assert response.context["required"] is True
    assert "otpauth://totp/" in device.config_url


def test_enrolment_refuses_a_wrong_code(world, required):
    client = world.client_for("anna")
    client.get(reverse("mfa-setup"))
    response = client.post(reverse("mfa-setup"), {"code": "000000"})
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=world.anna, confirmed=True).exists()
    assert last("auth.mfa_failed").details == {"step": "enrol"}


def test_enrolment_gives_ten_recovery_codes_and_opens_the_portal(world, required):
    client = world.client_for("anna")
    client.get(reverse("mfa-setup"))
    response = client.post(reverse("mfa-setup"), {"code": totp_code(world.anna),
                                                  "next": WORKSPACE})
    assert len(set(response.context["codes"])) == 10
    assert response.context["next"] == WORKSPACE
    assert client.get(WORKSPACE).status_code == 200
    assert last("auth.mfa_enrol").actor_name == "anna"


# --- signing in -------------------------------------------------------------------------------

def test_a_member_with_a_factor_passes_it_after_the_password(world, password, required):
    enrolled(world.anna)
    client = signed_in(world, "anna", password)
    response = client.get(WORKSPACE)
    assert response["Location"] == f"{reverse('mfa-verify')}?next=%2Fa%2Falpha%2F"
    assert client.post(reverse("mfa-verify"), {"code": "123456"}).status_code == 400
    wait_out_the_throttle(world.anna)
    response = client.post(reverse("mfa-verify"), {"code": totp_code(world.anna),
                                                   "next": WORKSPACE})
    assert response["Location"] == WORKSPACE
    assert client.get(WORKSPACE).status_code == 200
    assert last("auth.mfa_verify").details == {"with": "totp"}
    assert last("auth.mfa_failed").details == {"step": "sign-in"}


def test_wrong_codes_slow_the_next_attempts_down(world, password, required):
    enrolled(world.anna)
    client = signed_in(world, "anna", password)
    client.post(reverse("mfa-verify"), {"code": "123456"})
    # even the right code waits until the throttle's delay has passed
    response = client.post(reverse("mfa-verify"), {"code": totp_code(world.anna)})
    assert "Too many wrong codes" in response.content.decode()
    assert client.get(WORKSPACE).status_code == 302
    assert last("auth.mfa_failed").details == {"step": "sign-in", "throttled": True}


def test_a_factor_is_asked_even_when_not_required(world, password, settings):
    settings.MFA_REQUIRED = False
    enrolled(world.anna)
    client = signed_in(world, "anna", password)
    assert client.get(WORKSPACE)["Location"].startswith(reverse("mfa-verify"))


def test_a_code_works_once(world, password, required):
    enrolled(world.anna)
    code = totp_code(world.anna)
    first = signed_in(world, "anna", password)
    first.post(reverse("mfa-verify"), {"code": code})
    second = signed_in(world, "anna", password)
    assert second.post(reverse("mfa-verify"), {"code": code}).status_code == 400
    assert second.get(WORKSPACE).status_code == 302


def test_a_recovery_code_works_once(world, password, required):
    enrolled(world.anna, recovery=("abcd2345", "efgh6723"))
    client = signed_in(world, "anna", password)
    assert client.post(reverse("mfa-verify"), {"code": "ABCD 2345"}).status_code == 302
    assert client.get(WORKSPACE).status_code == 200
    assert last("auth.mfa_verify").details == {"with": "recovery code", "recovery_codes_left": 1}
    again = signed_in(world, "anna", password)
    assert again.post(reverse("mfa-verify"), {"code": "abcd2345"}).status_code == 400


def test_a_password_alone_cannot_replace_the_factor(world, password, required):
    enrolled(world.anna)
    client = signed_in(world, "anna", password)
    assert client.get(reverse("mfa-setup"))["Location"].startswith(reverse("mfa-verify"))
    client.post(reverse("mfa-setup"), {"code": "000000"})
    client.post(reverse("mfa-recovery-codes"))
    assert TOTPDevice.objects.filter(user=world.anna).count() == 1
    assert not StaticToken.objects.filter(device__user=world.anna).exists()


def test_new_recovery_codes_replace_the_old_ones(world, password, required):
    enrolled(world.anna, recovery=("abcd2345",))
    client = signed_in(world, "anna", password)
    client.post(reverse("mfa-verify"), {"code": totp_code(world.anna)})
    codes = client.post(reverse("mfa-recovery-codes")).context["codes"]
    assert sorted(StaticToken.objects.filter(device__user=world.anna)
                  .values_list("token", flat=True)) == sorted(codes)
    assert last("auth.mfa_recovery_codes").actor_name == "anna"


# --- resets by admins -------------------------------------------------------------------------

def test_an_admin_resets_a_members_factor(world, password, required):
    enrolled(world.anna)
    anna = signed_in(world, "anna", password)
    anna.post(reverse("mfa-verify"), {"code": totp_code(world.anna)})
    assert anna.get(WORKSPACE).status_code == 200
    enrolled(world.alice)
    alice_session = signed_in(world, "alice", password)
    alice_session.post(reverse("mfa-verify"), {"code": totp_code(world.alice)})
    response = alice_session.post(reverse("agency-member-reset-factor",
                                          args=["alpha", world.membership("anna").pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.anna).exists()
    event = last("auth.mfa_reset")
    assert (event.actor_name, event.agency_slug, event.details["user"]) == (
        "alice", "alpha", "anna")
    # anna's session is no longer verified: she sets a new factor before anything else
    assert anna.get(WORKSPACE)["Location"].startswith(reverse("mfa-setup"))


def test_the_members_page_shows_who_has_a_factor(world):
    enrolled(world.anna)
    page = world.client_for("alice").get(reverse("agency-members", args=["alpha"]))
    assert page.context["with_factor"] == {world.anna.pk}
    assert "Reset the second factor of anna" in page.content.decode()


# --- the demo ----------------------------------------------------------------------------------

def test_the_demo_logins_keep_working_after_someone_enrolled(db):
    from django.contrib.auth import get_user_model

    from agencies.demo import seed_demo

    seed_demo(password="demo-password-123")
    admin = get_user_model().objects.get(username="demo-admin")
    enrolled(admin, recovery=("abcd2345",))
    logins = {login.username: login for login in seed_demo(password="demo-password-123")}
    assert not TOTPDevice.objects.filter(user=admin).exists()
    assert not StaticToken.objects.filter(device__user=admin).exists()
    assert get_user_model().objects.get(username="platform-admin").is_staff
    assert "creates agencies" in logins["platform-admin"].what
    client = Client()
    assert sign_in(client, "demo-admin", "demo-password-123").status_code == 302
    assert client.get("/a/riverton/").status_code == 200
