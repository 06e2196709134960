"""Boards run their own membership: platform staff create a board and invite its chair; the
chair invites members and chairs by email (single-use, expiring links, resend, revoke) and
removes members; every step is recorded where the board's own oversight page shows it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from agencies import actions
from agencies.access import MANAGE_BOARD_PERMISSION
from agencies.models import BoardRole, OversightBoard
from agencies.onboarding.actions import do_invite_to_board
from audit.models import AccessEvent
from tests.factories import BoardFactory, UserFactory
from tests.onboarding_helpers import NEW_PASSWORD, last_link


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chair(world):
    user = UserFactory(username="chloe", email="chloe@example.org")
    actions.do_add_board_member(world.board, user, acting_user=None, role=BoardRole.CHAIR)
    return user


def members_url(board) -> str:
    return reverse("board-members", args=[board.slug])


def invite(client, board, email, role=BoardRole.MEMBER):
    return client.post(members_url(board), {"email": email, "role": role})


def accept(link: str, username: str) -> Client:
    client = Client()
    response = client.post(link, {"username": username, "password1": NEW_PASSWORD,
                                  "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_platform_staff_create_a_board_and_invite_its_chair(db):
    staff = UserFactory(username="pat", is_staff=True)
    client = client_of(staff)
    response = client.post(reverse("platform-boards"),
                           {"name": "Harbour Police Commission", "slug": "harbour-commission",
                            "description": "Reviews Harbour's forecasts."})
    board = OversightBoard.objects.get(slug="harbour-commission")
    assert response["Location"] == members_url(board)
    assert AccessEvent.objects.filter(action="board.create", object_id=str(board.pk)).exists()
    invite(client, board, "chair@harbour.example", BoardRole.CHAIR)
    accept(last_link("chair@harbour.example"), "harriet")
    harriet = get_user_model().objects.get(username="harriet")
    assert harriet in board.members and harriet.has_perm(MANAGE_BOARD_PERMISSION, board)


def test_a_chair_invites_a_member_who_joins_with_a_second_factor_next(world, chair):
    response = invite(client_of(chair), world.board, "june@example.org")
    assert response.status_code == 302
    client = Client()
    link = last_link("june@example.org")
    assert "Join Alpha Oversight Board" in client.get(link).content.decode()
    response = client.post(link, {"username": "june", "password1": NEW_PASSWORD,
                                  "password2": NEW_PASSWORD})
    assert response["Location"].startswith(reverse("mfa-setup"))
    assert "next=%2Foversight%2F" in response["Location"]
    june = get_user_model().objects.get(username="june")
    assert june in world.board.members
    assert not june.has_perm(MANAGE_BOARD_PERMISSION, world.board)


def test_a_plain_member_cannot_manage_the_board(world, chair):
    assert client_of(world.carol).get(members_url(world.board)).status_code == 403
    assert invite(client_of(world.carol), world.board, "x@example.org").status_code == 403


def test_another_boards_chair_does_not_see_this_board(world, chair):
    other = BoardFactory(slug="other-board")
    other_chair = UserFactory(username="otto")
    actions.do_add_board_member(other, other_chair, acting_user=None, role=BoardRole.CHAIR)
    assert client_of(other_chair).get(members_url(world.board)).status_code == 404
    assert client_of(chair).get(members_url(other)).status_code == 404


def test_it_refuses_to_invite_a_member_or_someone_already_invited(world, chair):
    client = client_of(chair)
    assert invite(client, world.board, world.carol.email).status_code == 400
    assert invite(client, world.board, "kim@example.org").status_code == 302
    response = invite(client, world.board, "kim@example.org")
    assert response.status_code == 400 and "pending invitation" in response.content.decode()


def test_a_resend_makes_a_new_link_and_a_revoke_ends_it(world, chair):
    client = client_of(chair)
    invite(client, world.board, "kim@example.org")
    first = last_link("kim@example.org")
    invitation = world.board.invitations.get()
    client.post(reverse("board-invitation-resend", args=[world.board.slug, invitation.pk]))
    second = last_link("kim@example.org")
    assert first != second and Client().get(first).status_code == 404
    client.post(reverse("board-invitation-revoke", args=[world.board.slug, invitation.pk]))
    assert Client().get(second).status_code == 410


def test_a_chair_removes_a_member_who_then_sees_no_trail(world, chair):
    response = client_of(chair).post(
        reverse("board-member-remove", args=[world.board.slug, world.carol.pk]))
    assert response.status_code == 302
    assert world.carol not in world.board.members
    page = client_of(world.carol).get(reverse("oversight-home")).content.decode()
    assert "You sit on no oversight board" in page
    event = AccessEvent.objects.get(action="board.member_remove")
    assert (event.actor_name, event.details["user"]) == ("chloe", "carol")


def test_the_only_chair_stays(world, chair):
    client_of(chair).post(reverse("board-member-remove", args=[world.board.slug, chair.pk]))
    assert chair in world.board.members


def test_the_boards_membership_events_are_on_its_own_oversight_page(world, chair):
    invite(client_of(chair), world.board, "kim@example.org")
    other = BoardFactory(slug="other-board")
    do_invite_to_board(other, "secret@example.org", BoardRole.MEMBER, acting_user=None)
    page = client_of(world.carol).get(reverse("oversight-home")).content.decode()
    assert "Invited someone to an agency or a board" in page
    events = client_of(world.carol).get(reverse("oversight-home")).context["page"]
    assert {e.details.get("board") for e in events if e.object_type == "board"} == {
        "alpha-board"}


def test_every_step_is_recorded(world, chair):
    client = client_of(chair)
    invite(client, world.board, "kim@example.org")
    accept(last_link("kim@example.org"), "kim")
    actions_seen = list(AccessEvent.objects.filter(object_type="board")
                        .order_by("seq").values_list("action", flat=True))
    assert actions_seen[-3:] == ["invitation.create", "board.member_add", "invitation.accept"]
