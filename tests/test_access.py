"""The one access rule (agencies.access): 404 for other agencies, 403 for low roles."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from agencies import access, actions
from agencies.models import Membership
from agencies.roles import Role
from tests.factories import UserFactory


def test_it_returns_the_agency_with_the_members_role(world):
    agency = access.get_agency_for_user(world.anna, "alpha", min_role=Role.ANALYST)
    assert agency == world.alpha
    assert agency.member_role == Role.ANALYST


def test_it_answers_404_for_another_agency(world):
    with pytest.raises(Http404):
        access.get_agency_for_user(world.bob, "alpha")


def test_it_answers_404_for_an_unknown_slug(world):
    with pytest.raises(Http404):
        access.get_agency_for_user(world.alice, "nowhere")


def test_it_answers_403_for_a_role_below_the_minimum(world):
    with pytest.raises(PermissionDenied):
        access.get_agency_for_user(world.victor, "alpha", min_role=Role.ANALYST)


def test_it_does_not_make_superusers_members(world):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    with pytest.raises(Http404):
        access.get_agency_for_user(root, "alpha")
    assert list(access.agencies_overseen_by(root)) == []


def test_it_lists_only_agencies_where_the_role_suffices(world):
    Membership.objects.create(user=world.victor, agency=world.bravo, role=Role.ADMIN)
    assert set(access.agencies_for_user(world.victor)) == {world.alpha, world.bravo}
    assert list(access.agencies_for_user(world.victor, min_role=Role.ANALYST)) == [world.bravo]


def test_it_restricts_tenant_rows_to_the_users_agencies(world):
    rows = Membership.objects.all()
    assert {m.agency for m in access.restrict(rows, world.bob)} == {world.bravo}
    assert access.restrict(rows, world.dave).count() == 0


def test_it_finds_tenant_objects_only_inside_the_agency(world):
    alpha_row = world.membership("victor")
    found = access.get_object_for_user(
        world.alice, Membership.objects.all(), agency_slug="alpha", min_role=Role.ADMIN,
        pk=alpha_row.pk,
    )
    assert found == alpha_row
    bravo_admin = UserFactory(username="bravo-admin")
    Membership.objects.create(user=bravo_admin, agency=world.bravo, role=Role.ADMIN)
    with pytest.raises(Http404):  # an object of A, asked for through B
        access.get_object_for_user(
            bravo_admin, Membership.objects.all(), agency_slug="bravo", pk=alpha_row.pk
        )


def test_board_members_oversee_granted_agencies_only(world):
    assert list(access.agencies_overseen_by(world.carol)) == [world.alpha]
    assert access.get_overseen_agency(world.carol, "alpha") == world.alpha
    with pytest.raises(Http404):
        access.get_overseen_agency(world.carol, "bravo")


def test_board_members_are_not_agency_members(world):
    with pytest.raises(Http404):
        access.get_agency_for_user(world.carol, "alpha")


def test_a_revoked_grant_ends_oversight(world):
    actions.do_revoke_board(world.board, world.alpha, acting_user=None)
    assert list(access.agencies_overseen_by(world.carol)) == []


def test_agency_members_do_not_oversee_their_agency(world):
    assert list(access.agencies_overseen_by(world.alice)) == []


def test_the_tenant_queryset_restrict_uses_the_same_rule(world):
    from agencies.tenancy import TenantQuerySet

    rows = TenantQuerySet(model=Membership)
    assert set(rows.restrict(world.bob).values_list("agency__slug", flat=True)) == {"bravo"}
