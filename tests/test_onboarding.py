"""Onboarding: a platform administrator creates an agency on the portal's page and invites
its first admin; admins invite, resend and revoke; an invitation link works once, until it
expires, unless revoked; another agency's admin never sees ours (404)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, Invitation, Membership
from agencies.onboarding import actions
from agencies.roles import Role
from audit.models import AccessEvent
from tests.factories import PASSWORD, UserFactory
from tests.onboarding_helpers import (
    BOUNDARY,
    NEW_PASSWORD,
    enrolled,
    last_link,
    sign_in,
    totp_code,
)

User = get_user_model()


@pytest.fixture
def staff(db):
    return UserFactory(username="pat", is_staff=True)


def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def new_agency_data(**changes):
    return {"name": "Harbour Police", "slug": "harbour", "timezone": "America/Chicago",
            "cell_size_m": "200", "purposes": "patrol_planning | Patrol planning\n"
                                              "analysis | Crime analysis",
            **changes}


def geojson_file(value=BOUNDARY, name="harbour.geojson"):
    return SimpleUploadedFile(name, json.dumps(value).encode(), "application/geo+json")


def invite(client, url, email, role):
    return client.post(url, {"email": email, "role": role})


def accept(path, username, password=NEW_PASSWORD, client=None):
    client = client or Client()
    response = client.post(path, {"username": username, "password1": password,
                                  "password2": password})
    return client, response


def pending_invitation(world, email="erin@example.org", role=Role.ANALYST):
    return actions.do_invite(world.alpha, email, role, acting_user=world.alice)


# --- the whole path ---------------------------------------------------------------------------

def test_it_takes_a_new_agency_from_the_page_to_a_first_member(staff, settings):
    settings.MFA_REQUIRED = True
    enrolled(staff)
    # a platform administrator signs in with their password and their code
    pat = Client()
    sign_in(pat, "pat", PASSWORD)
    assert pat.get(reverse("platform-agency-new"))["Location"].startswith(reverse("mfa-verify"))
    assert pat.post(reverse("mfa-verify"), {"code": totp_code(staff)}).status_code == 302
    # ...creates the agency on the portal's page, with its boundary...
    response = pat.post(reverse("platform-agency-new"),
                        {**new_agency_data(), "boundary_file": geojson_file()})
    assert response.status_code == 302, response.content.decode()
    harbour = Agency.objects.get(slug="harbour")
    assert (harbour.timezone, harbour.cell_size_m, harbour.boundary) == (
        "America/Chicago", 200, BOUNDARY)
    assert harbour.access_purposes == [["patrol_planning", "Patrol planning"],
                                       ["analysis", "Crime analysis"]]
    # ...and invites its first admin, who gets the link by email
    invite(pat, reverse("platform-agency", args=["harbour"]), "chief@harbour.example", "admin")
    # the admin accepts: a username and a password...
    chief_client, response = accept(last_link("chief@harbour.example"), "chief")
    assert response["Location"].startswith(reverse("mfa-setup"))
    chief = User.objects.get(username="chief")
    assert chief.email == "chief@harbour.example"
    # ...then nothing opens before the second factor is set
    assert chief_client.get("/a/harbour/")["Location"].startswith(reverse("mfa-setup"))
    assert chief_client.get(reverse("mfa-setup")).status_code == 200
    response = chief_client.post(reverse("mfa-setup"), {"code": totp_code(chief),
                                                        "next": "/a/harbour/"})
    assert len(response.context["codes"]) == 10
    assert chief_client.get("/a/harbour/").status_code == 200
    # the admin signs in again: password, then a code from the app
    chief_client.post(reverse("logout"))
    sign_in(chief_client, "chief", NEW_PASSWORD)
    assert chief_client.get("/a/harbour/")["Location"].startswith(reverse("mfa-verify"))
    chief_client.post(reverse("mfa-verify"), {"code": totp_code(chief)})
    assert chief_client.get("/a/harbour/").context["role"] == Role.ADMIN
    # the admin invites an analyst, who accepts and sets a factor
    invite(chief_client, reverse("agency-invitations", args=["harbour"]), "ana@harbour.example",
           "analyst")
    ana_client, _ = accept(last_link("ana@harbour.example"), "ana")
    ana = User.objects.get(username="ana")
    ana_client.get(reverse("mfa-setup"))
    ana_client.post(reverse("mfa-setup"), {"code": totp_code(ana)})
    assert ana_client.get("/a/harbour/").context["role"] == Role.ANALYST
    assert list(harbour.memberships.order_by("role").values_list("user__username", "role")) == [
        ("chief", "admin"), ("ana", "analyst")]


def test_it_records_every_step_of_onboarding(staff, world):
    harbour = actions.do_create_agency(
        {"name": "Harbour Police", "slug": "harbour", "boundary": BOUNDARY}, acting_user=staff)
    invitation, token = actions.do_invite(harbour, "chief@harbour.example", Role.ADMIN,
                                          acting_user=staff)
    invitation, token = actions.do_resend_invitation(invitation, acting_user=staff)
    _, response = accept(reverse("invitation-accept", args=[token]), "chief")
    other, _ = actions.do_invite(world.alpha, "x@example.org", Role.VIEWER, acting_user=world.alice)
    actions.do_revoke_invitation(other, acting_user=world.alice)
    Client().get(reverse("invitation-accept", args=[token]))  # used: refused

    events = {e.action: e for e in AccessEvent.objects.order_by("seq")}
    assert events["agency.create"].actor_role == "staff"
    assert events["agency.create"].details["slug"] == "harbour"
    assert events["invitation.create"].details == {"email": "x@example.org", "role": "viewer"}
    assert events["invitation.resend"].agency_slug == "harbour"
    assert events["invitation.revoke"].actor_name == "alice"
    accepted = events["invitation.accept"]
    assert (accepted.actor_name, accepted.actor_role, accepted.agency_slug) == (
        "chief", "admin", "harbour")
    assert events["membership.add"].details["invited_by"] == "pat"
    refused = events["invitation.refused"]
    assert (refused.outcome, refused.details["reason"]) == ("denied", "accepted")


# --- the platform page ------------------------------------------------------------------------

def test_only_platform_administrators_reach_the_new_agency_page(staff, world):
    assert staff_client(staff).get(reverse("platform-agency-new")).status_code == 200
    assert world.client_for("alice").get(reverse("platform-agency-new")).status_code == 403
    assert AccessEvent.objects.filter(action="access.denied", actor_name="alice").exists()


def test_the_boundary_read_by_the_browser_is_saved(staff):
    client = staff_client(staff)
    response = client.post(reverse("platform-agency-new"),
                           new_agency_data(boundary_geojson=json.dumps(
                               {"type": "Feature", "properties": {}, "geometry": BOUNDARY})))
    assert response.status_code == 302
    assert Agency.objects.get(slug="harbour").boundary == BOUNDARY


def test_a_refused_form_keeps_the_boundary_for_the_map(staff, world):
    client = staff_client(staff)
    response = client.post(reverse("platform-agency-new"),
                           new_agency_data(slug="alpha", boundary_geojson=json.dumps(BOUNDARY)))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert response.context["form"]["boundary_geojson"].value() == json.dumps(BOUNDARY)
    assert b'id="map"' in response.content


@pytest.mark.parametrize(("changes", "message"), [
    ({"boundary_file": "not json"}, "not valid GeoJSON"),
    ({"boundary_geojson": json.dumps({"type": "Point", "coordinates": [0, 0]})},
     "must be a GeoJSON Polygon"),
    ({"purposes": "Patrol planning"}, "write `code | label`"),
    ({"purposes": "a | A\na | again"}, "is there twice"),
    ({"timezone": "Mars/Olympus"}, "Select a valid choice"),
    ({"cell_size_m": "5"}, "greater than or equal to 50"),
])
def test_the_new_agency_page_explains_what_is_wrong(staff, changes, message):
    data = new_agency_data(**changes)
    if isinstance(data.get("boundary_file"), str):
        data["boundary_file"] = SimpleUploadedFile("b.geojson", data["boundary_file"].encode())
    response = staff_client(staff).post(reverse("platform-agency-new"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Agency.objects.filter(slug="harbour").exists()


# --- invitations ------------------------------------------------------------------------------

def test_it_stores_only_a_hash_of_the_link(world):
    invitation, token = pending_invitation(world)
    invitation.refresh_from_db()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = json.dumps(list(Invitation.objects.values()), default=str)
    assert token not in stored
    assert len(token) >= 40


def test_a_link_lasts_invitation_days(world, settings):
    settings.INVITATION_DAYS = 3
    invitation, _ = pending_invitation(world)
    assert abs(invitation.expires_at - (timezone.now() + timedelta(days=3))) < timedelta(
        minutes=1)


def test_an_admin_invites_by_email(world):
    response = invite(world.client_for("alice"), reverse("agency-invitations", args=["alpha"]),
                      "Erin@Example.org", "analyst")
    assert response.status_code == 302
    invitation = Invitation.objects.get(agency=world.alpha)
    assert (invitation.role, invitation.status, invitation.times_sent) == ("analyst", "pending", 1)
    assert mail.outbox[-1].to == [invitation.email]
    assert "Alpha Police" in mail.outbox[-1].subject
    assert "analyst role" in mail.outbox[-1].body


def test_the_invitations_are_listed_for_the_admin(world):
    pending_invitation(world)
    response = world.client_for("alice").get(reverse("agency-invitations", args=["alpha"]))
    assert "erin@example.org" in response.content.decode()
    assert "pending" in response.content.decode()


def test_it_refuses_to_invite_a_member_or_someone_invited(world):
    pending_invitation(world)
    client = world.client_for("alice")
    url = reverse("agency-invitations", args=["alpha"])
    assert "already a member" in invite(client, url, "anna@example.org", "viewer").content.decode()
    response = invite(client, url, "erin@example.org", "viewer")
    assert response.status_code == 400
    assert "already has a pending invitation" in response.content.decode()


def test_a_resend_makes_a_new_link_and_the_old_one_stops_working(world):
    invitation, old = pending_invitation(world)
    world.client_for("alice").post(
        reverse("agency-invitation-resend", args=["alpha", invitation.pk]))
    new = last_link("erin@example.org")
    assert Client().get(reverse("invitation-accept", args=[old])).status_code == 404
    assert Client().get(new).status_code == 200


def test_a_resend_renews_an_expired_invitation(world):
    invitation, _ = pending_invitation(world)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    world.client_for("alice").post(
        reverse("agency-invitation-resend", args=["alpha", invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_it_refuses_a_used_link(world):
    _, token = pending_invitation(world)
    path = reverse("invitation-accept", args=[token])
    accept(path, "erin")
    _, again = accept(path, "mallory")
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert not User.objects.filter(username="mallory").exists()
    assert Membership.objects.filter(agency=world.alpha, user__username="erin").count() == 1


def test_it_refuses_an_expired_link(world):
    invitation, token = pending_invitation(world)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    path = reverse("invitation-accept", args=[token])
    assert Client().get(path).status_code == 410
    _, response = accept(path, "erin")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_it_refuses_a_link_that_expires_while_the_form_is_open(world):
    invitation, token = pending_invitation(world)
    path = reverse("invitation-accept", args=[token])
    assert Client().get(path).status_code == 200
    invitation.expires_at = timezone.now() - timedelta(seconds=1)
    invitation.save(update_fields=["expires_at"])
    _, response = accept(path, "erin")
    assert response.status_code == 410
    assert not User.objects.filter(username="erin").exists()


def test_it_refuses_a_revoked_link(world):
    invitation, token = pending_invitation(world)
    world.client_for("alice").post(
        reverse("agency-invitation-revoke", args=["alpha", invitation.pk]))
    _, response = accept(reverse("invitation-accept", args=[token]), "erin")
    assert response.status_code == 410
    assert "revoked" in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_the_claim_itself_refuses_a_second_use_or_an_expired_link(world):
    # two requests that both read the invitation while it was pending (a race): one wins
    invitation, _ = pending_invitation(world)
    stale = Invitation.objects.get(pk=invitation.pk)
    actions.do_accept_invitation(invitation, username="erin", password=NEW_PASSWORD)
    with pytest.raises(actions.InvitationRefused, match="accepted"):
        actions.do_accept_invitation(stale, username="mallory", password=NEW_PASSWORD)
    # an invitation read just before it expired
    late, _ = pending_invitation(world, email="late@example.org")
    Invitation.objects.filter(pk=late.pk).update(expires_at=timezone.now())
    with pytest.raises(actions.InvitationRefused, match="expired"):
        actions.do_accept_invitation(late, username="late", password=NEW_PASSWORD)
    assert not User.objects.filter(username__in=["mallory", "late"]).exists()


def test_an_unknown_link_does_not_exist(db):
    response = Client().get(reverse("invitation-accept", args=["no-such-token"]))
    assert response.status_code == 404


def test_an_accepted_invitation_cannot_be_revoked(world):
    invitation, token = pending_invitation(world)
    accept(reverse("invitation-accept", args=[token]), "erin")
    response = world.client_for("alice").post(
        reverse("agency-invitation-revoke", args=["alpha", invitation.pk]), follow=True)
    assert "already accepted" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "accepted"


def test_a_weak_password_is_refused_and_the_link_still_works(world):
    _, token = pending_invitation(world)
    path = reverse("invitation-accept", args=[token])
    _, response = accept(path, "erin", password="short")
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert Invitation.objects.get().status == "pending"


def test_an_existing_account_signs_in_and_joins(world):
    # dave already has an account with the invited email
    _, token = pending_invitation(world, email="dave@example.org", role=Role.VIEWER)
    path = reverse("invitation-accept", args=[token])
    assert "An account with this email already exists" in Client().get(path).content.decode()
    client = world.client_for("dave")
    assert "Join Alpha Police" in client.get(path).content.decode()
    assert client.post(path)["Location"] == "/a/alpha/"
    assert world.dave.memberships.get().role == Role.VIEWER


def test_another_account_cannot_use_someone_elses_link(world):
    _, token = pending_invitation(world)
    path = reverse("invitation-accept", args=[token])
    client = world.client_for("bob")
    assert "Sign out, then open the link again" in client.get(path).content.decode()
    client.post(path)
    assert not world.bob.memberships.filter(agency=world.alpha).exists()
    assert Invitation.objects.get().status == "pending"


# --- tenancy ----------------------------------------------------------------------------------

def test_another_agencys_admin_cannot_see_or_revoke_our_invitations(world):
    invitation, _ = pending_invitation(world)
    Membership.objects.filter(user=world.bob).update(role=Role.ADMIN)
    bob = world.client_for("bob")
    assert "erin@example.org" not in bob.get(
        reverse("agency-invitations", args=["bravo"])).content.decode()
    for name in ["agency-invitation-revoke", "agency-invitation-resend"]:
        for slug in ["bravo", "alpha"]:
            assert bob.post(reverse(name, args=[slug, invitation.pk])).status_code == 404
    assert bob.get(reverse("agency-invitations", args=["alpha"])).status_code == 404
    invitation.refresh_from_db()
    assert (invitation.status, invitation.times_sent) == ("pending", 0)


def test_platform_administrators_manage_any_agencys_invitations(staff, world):
    invitation, _ = pending_invitation(world)
    client = staff_client(staff)
    assert "erin@example.org" in client.get(
        reverse("platform-agency", args=["alpha"])).content.decode()
    client.post(reverse("platform-invitation-revoke", args=["alpha", invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert client.post(reverse("platform-invitation-revoke",
                               args=["bravo", invitation.pk])).status_code == 404
