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


def test_a_lock_lasts_until_an_admin_releases_it(world, password):
    for _ in range(5):
        sign_in(Client(), "alice", "wrong password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(days=2))
    assert sign_in(Client(), "alice", password).status_code == 429
    reset(username="alice")  # what `manage.py axes_reset_username alice` does
    assert sign_in(Client(), "alice", password).status_code == 302


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
