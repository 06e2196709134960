"""Sign-in, lockout after failed logins, session lifetime and CSRF."""

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agencies.sessions import LOGIN_AT, SEEN_AT

LOGIN_URL = "/accounts/login/"


def sign_in(client, username, password):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def test_it_serves_our_own_login_page(db):
    response = Client().get(LOGIN_URL)
    assert response.status_code == 200
    assert "registration/login.html" in [t.name for t in response.templates]
    assert "Django administration" not in response.content.decode()


def test_it_signs_in_and_out(world, password):
    client = Client()
    response = sign_in(client, "alice", password)
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"].username == "alice"
    client.post(reverse("logout"))
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_it_refuses_a_wrong_password(world):
    response = sign_in(Client(), "alice", "wrong password")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_it_locks_the_account_after_five_failures(world, password):
    for _ in range(5):
        sign_in(Client(), "alice", "wrong password")
    # the right password from a fresh client is refused too: the account is locked
    response = sign_in(Client(), "alice", password)
    assert response.status_code == 429
    assert "Account locked" in response.content.decode()


def test_four_failures_do_not_lock(world, password):
    for _ in range(4):
        sign_in(Client(), "alice", "wrong password")
    assert sign_in(Client(), "alice", password).status_code == 302


def test_failures_older_than_the_window_are_forgotten(world, password):
    for _ in range(4):
        sign_in(Client(), "alice", "wrong password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    sign_in(Client(), "alice", "wrong password")
    assert sign_in(Client(), "alice", password).status_code == 302


def test_it_locks_only_the_address_the_failures_come_from(world, password):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(20):
        sign_in(attacker, "alice", "wrong password")
    assert sign_in(Client(REMOTE_ADDR="203.0.113.9"), "alice", password).status_code == 429
    # alice, signing in from her own address, is not locked out by someone else's failures
    assert sign_in(Client(REMOTE_ADDR="198.51.100.7"), "alice", password).status_code == 302


def test_it_keeps_a_lock_during_the_cool_off(world, password):
    for _ in range(5):
        sign_in(Client(), "alice", "wrong password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert sign_in(Client(), "alice", password).status_code == 429


def test_it_lifts_a_lock_after_the_cool_off(world, password):
    for _ in range(5):
        sign_in(Client(), "alice", "wrong password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(Client(), "alice", password).status_code == 302


def test_the_cool_off_follows_its_setting(world, password, settings):
    settings.AXES_COOLOFF_TIME = timedelta(hours=2)
    for _ in range(5):
        sign_in(Client(), "alice", "wrong password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=90))
    assert sign_in(Client(), "alice", password).status_code == 429


def test_an_admin_releases_a_lock_and_it_is_audited(world, password):
    from audit.models import AccessEvent

    for _ in range(5):
        sign_in(Client(), "alice", "wrong password")
    assert sign_in(Client(), "alice", password).status_code == 429
    reset(username="alice")  # what `manage.py axes_reset_username alice` does
    assert sign_in(Client(), "alice", password).status_code == 302
    release = AccessEvent.objects.get(action="auth.lockout_release")
    assert release.details == {"username": "alice", "ip_address": "127.0.0.1"}


def test_forgetting_an_expired_lock_is_no_release(world, password):
    from audit.models import AccessEvent

    for _ in range(5):
        sign_in(Client(), "alice", "wrong password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(Client(), "alice", password).status_code == 302
    assert not AccessEvent.objects.filter(action="auth.lockout_release").exists()


@pytest.mark.parametrize(
    "stamps",
    [
        pytest.param({LOGIN_AT: -3600, SEEN_AT: -31 * 60}, id="idle-30-minutes"),
        pytest.param({LOGIN_AT: -(12 * 3600 + 1), SEEN_AT: -10}, id="older-than-12-hours"),
    ],
)
def test_it_ends_expired_sessions(world, password, stamps):
    client = Client()
    sign_in(client, "alice", password)
    session = client.session
    now = int(time.time())
    for key, offset in stamps.items():
        session[key] = now + offset
    session.save()

    response = client.get(reverse("agency-workspace", args=["alpha"]))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_an_active_session_stays(world, password):
    client = Client()
    sign_in(client, "alice", password)
    session = client.session
    session[SEEN_AT] = int(time.time()) - 29 * 60
    session.save()
    assert client.get(reverse("agency-workspace", args=["alpha"])).status_code == 200


def test_forms_require_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    response = client.post(reverse("agency-members", args=["alpha"]),
                           {"user": "bob", "role": "viewer"})
    assert response.status_code == 403
    assert not world.bob.memberships.filter(agency=world.alpha).exists()


def test_it_validates_passwords(db):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("short1")
    with pytest.raises(ValidationError):
        validate_password("password1234")


def test_a_password_change_ends_the_users_other_sessions(world, password):
    from django.contrib.auth import update_session_auth_hash
    from django.test import RequestFactory

    here, elsewhere = Client(), Client()
    sign_in(here, "alice", password)
    sign_in(elsewhere, "alice", password)
    world.alice.set_password("a brand new passphrase 2024")
    world.alice.save()
    # what a password-change page does for the session that changed it (Django's own does)
    request = RequestFactory().get("/")
    request.session = here.session
    request.user = world.alice
    update_session_auth_hash(request, world.alice)
    request.session.save()
    here.cookies["sessionid"] = request.session.session_key  # it was given a new key
    assert here.get(reverse("home")).context["user"].is_authenticated
    assert not elsewhere.get(reverse("home")).context["user"].is_authenticated
