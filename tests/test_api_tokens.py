"""API tokens: hashed at rest, shown once, named, expiring, revocable by their owner and by
the agency admin, and ended by a new password, a lockout, a role change or a removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agencies import actions
from agencies.models import ApiToken
from agencies.roles import Role
from agencies.tokens import issue_token
from audit.models import AccessEvent
from tests.factories import MembershipFactory, UserFactory

AGENCIES = "/api/v1/agencies/"


def call(key: str, address: str = "127.0.0.1"):
    return APIClient(REMOTE_ADDR=address).get(AGENCIES, HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def anna_key(world) -> str:
    key = issue_token(world.anna, "nightly export")[1]
    assert call(key).status_code == 200
    return key


def test_it_creates_a_named_token_shown_once(world):
    client = world.client_for("anna")
    key = client.post(reverse("api-token"), {"name": "nightly export"}).context["key"]
    assert call(key).status_code == 200
    page = client.get(reverse("api-token")).content.decode()
    assert "nightly export" in page and key not in page and key[:10] in page
    assert AccessEvent.objects.filter(action="auth.token_create", actor_name="anna").exists()


def test_it_asks_for_a_name(world):
    response = world.client_for("anna").post(reverse("api-token"), {"name": "  "})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_it_stores_no_token_in_the_database(world, anna_key):
    columns = [f.column for f in ApiToken._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {ApiToken._meta.db_table}")
        rows = cursor.fetchall()
    assert rows and not any(anna_key in str(value) for row in rows for value in row)


def test_a_token_expires_after_api_token_days(world, settings):
    settings.API_TOKEN_DAYS = 7
    token = issue_token(world.anna, "weekly")[0]
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_it_refuses_an_expired_token(world, anna_key):
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = call(anna_key)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_it_refuses_a_token_after_a_password_change(world, anna_key):
    world.anna.set_password("a brand new passphrase 2024")
    world.anna.save()
    assert call(anna_key).status_code == 401


def test_it_refuses_a_token_during_a_lockout_from_that_address(world, anna_key):
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "anna", "password": "wrong password"})
    assert call(anna_key).status_code == 401


def test_a_lockout_from_another_address_leaves_the_token_working(world, anna_key):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(20):
        attacker.post("/accounts/login/", {"username": "anna", "password": "wrong password"})
    assert call(anna_key, "198.51.100.7").status_code == 200


def test_a_removal_from_the_agency_ends_the_token(world, anna_key):
    actions.do_remove_member(world.membership("anna"), acting_user=world.alice)
    assert call(anna_key).status_code == 401
    assert ApiToken.objects.get().revoked_reason == "removed from the agency"


def test_a_role_change_ends_the_token(world, anna_key):
    actions.do_change_role(world.membership("anna"), Role.VIEWER, acting_user=world.alice)
    assert call(anna_key).status_code == 401
    assert AccessEvent.objects.filter(action="auth.token_revoke", actor_name="alice").exists()


def test_the_owner_revokes_a_token(world, anna_key):
    token = ApiToken.objects.get()
    response = world.client_for("anna").post(reverse("api-token-revoke", args=[token.pk]))
    assert response.status_code == 302
    assert call(anna_key).status_code == 401
    event = AccessEvent.objects.get(action="auth.token_revoke")
    assert event.actor_name == "anna" and event.details["reason"] == "revoked by its owner"


def test_nobody_else_revokes_a_token_on_the_owners_page(world, anna_key):
    token = ApiToken.objects.get()
    response = world.client_for("alice").post(reverse("api-token-revoke", args=[token.pk]))
    assert response.status_code == 404
    assert call(anna_key).status_code == 200


def test_the_agency_admin_lists_and_revokes_a_members_token(world, anna_key):
    token = ApiToken.objects.get()
    alice = world.client_for("alice")
    assert "nightly export" in alice.get(reverse("agency-tokens", args=["alpha"])).content.decode()
    response = alice.post(reverse("agency-token-revoke", args=["alpha", token.pk]))
    assert response.status_code == 302
    assert call(anna_key).status_code == 401
    event = AccessEvent.objects.get(action="auth.token_revoke")
    assert event.actor_name == "alice" and event.agency_id == world.alpha.pk


def test_another_agencys_admin_cannot_revoke_a_token(world, anna_key):
    bravo_admin = UserFactory(username="bravo-admin")
    MembershipFactory(user=bravo_admin, agency=world.bravo, role=Role.ADMIN)
    client = Client()
    client.force_login(bravo_admin)
    token = ApiToken.objects.get()
    response = client.post(reverse("agency-token-revoke", args=["bravo", token.pk]))
    assert response.status_code == 404
    assert "nightly export" not in client.get(
        reverse("agency-tokens", args=["bravo"])).content.decode()
    assert call(anna_key).status_code == 200


def test_an_agency_admin_cannot_revoke_an_outsiders_token(world):
    key = issue_token(world.bob, "bravo export")[1]
    token = ApiToken.objects.get()
    response = world.client_for("alice").post(
        reverse("agency-token-revoke", args=["alpha", token.pk]))
    assert response.status_code == 404
    assert call(key).status_code == 200


def test_creating_a_token_needs_the_second_factor(world, settings):
    settings.MFA_REQUIRED = True
    world.client_for("anna").post(reverse("api-token"), {"name": "nightly export"})
    assert not ApiToken.objects.exists()


def test_a_session_without_the_second_factor_makes_no_token(world, settings):
    settings.MFA_REQUIRED = True  # dave reaches no agency data: the page opens, the form refuses
    response = world.client_for("dave").post(reverse("api-token"), {"name": "script"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_it_lists_tokens_with_a_revoke_button_for_the_owner_and_the_agency_admin(world):
    token, _key = issue_token(world.anna, "laptop")
    mine = world.client_for("anna").get(reverse("api-token")).content.decode()
    assert "laptop" in mine and reverse("api-token-revoke", args=[token.pk]) in mine
    theirs = world.client_for("alice").get(reverse("agency-tokens", args=["alpha"]))
    page = theirs.content.decode()
    assert "<td>anna</td>" in page and "laptop" in page
    assert reverse("agency-token-revoke", args=["alpha", token.pk]) in page
