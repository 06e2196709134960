"""Changing one's password on the page: this session stays, every other session and every
API token ends, the change is recorded; a wrong current password changes nothing."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from agencies.models import ApiToken
from agencies.tokens import issue_token
from audit.models import AccessEvent
from tests.factories import PASSWORD

NEW = "a brand new passphrase 2026"


def signed_in(address: str = "127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("login"), {"username": "anna", "password": PASSWORD})
    assert response.status_code == 302
    return client


def change(client: Client, old: str = PASSWORD, new: str = NEW):
    return client.post(reverse("password-change"),
                       {"old_password": old, "new_password1": new, "new_password2": new})


def test_it_changes_the_password_and_keeps_this_session(world):
    client = signed_in()
    response = change(client)
    assert response.status_code == 302
    world.anna.refresh_from_db()
    assert world.anna.check_password(NEW)
    assert client.get(reverse("home")).status_code == 200


def test_it_ends_the_users_other_sessions(world):
    other = signed_in("10.0.0.9")
    assert other.get("/a/alpha/").status_code == 200
    change(signed_in())
    response = other.get("/a/alpha/")
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_it_ends_the_users_api_tokens_and_says_so(world):
    _token, key = issue_token(world.anna, "nightly export")
    response = change(signed_in())
    assert APIClient().get("/api/v1/agencies/",
                           HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert ApiToken.objects.get().revoked_reason == "password changed"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("1 API token(s) no longer work" in m for m in messages)


def test_it_is_recorded(world):
    change(signed_in())
    event = AccessEvent.objects.filter(action="auth.password_change").get()
    assert (event.actor_name, event.object_id) == ("anna", str(world.anna.pk))


def test_a_wrong_current_password_changes_nothing(world):
    client = signed_in()
    response = change(client, old="not my password")
    assert response.status_code == 400
    assert "incorrect" in response.content.decode()
    world.anna.refresh_from_db()
    assert world.anna.check_password(PASSWORD)
    assert not AccessEvent.objects.filter(action="auth.password_change").exists()


def test_a_weak_new_password_is_refused_with_the_validators_words(world):
    response = change(signed_in(), new="password")
    assert response.status_code == 400
    assert "too common" in response.content.decode()
