"""State changes of tenancy: each a small function with a keyword-only acting user,
run in one transaction. Views, commands and tasks call these; nothing else writes."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from agencies.access import AUDIT_TRAIL_PERMISSION, MANAGE_BOARD_PERMISSION, board_chairs
from agencies.models import Agency, BoardRole, Membership, OversightBoard
from agencies.recording import record_action
from agencies.roles import Role
from audit.events import Action


def _record_membership(action: Action, membership: Membership, acting_user, **details) -> None:
    record_action(action, acting_user=acting_user, agency=membership.agency,
                  object_type="membership", object_id=membership.pk,
                  details={"user": membership.user.get_username(), "role": membership.role,
                           **details})


def _end_tokens(membership: Membership, acting_user, reason: str) -> None:
    """A member's API tokens end with the standing they were made under."""
    from agencies.tokens import end_tokens

    end_tokens(membership.user, reason=reason, acting_user=acting_user, agency=membership.agency)


def _queue_notice(membership_id: int) -> None:
    from agencies.tasks import send_membership_notice

    transaction.on_commit(lambda: send_membership_notice.delay(membership_id))


def _admins_left_after(membership: Membership) -> int:
    return (
        Membership.objects.filter(agency=membership.agency, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def do_add_member(agency: Agency, user, role: Role, *, acting_user) -> Membership:
    if Membership.objects.filter(agency=agency, user=user).exists():
        raise ValidationError(f"{user.get_username()} is already a member of {agency}.")
    membership = Membership.objects.create(agency=agency, user=user, role=Role(role))
    _record_membership(Action.MEMBERSHIP_ADD, membership, acting_user)
    _queue_notice(membership.pk)
    return membership


@transaction.atomic
def do_change_role(membership: Membership, role: Role, *, acting_user) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    role = Role(role)
    if membership.role == role:
        return membership
    if membership.role == Role.ADMIN and _admins_left_after(membership) == 0:
        raise ValidationError("An agency keeps at least one admin: appoint another admin first.")
    previous = membership.role
    membership.role = role
    membership.notified_at = None
    membership.save(update_fields=["role", "notified_at"])
    _record_membership(Action.MEMBERSHIP_ROLE_CHANGE, membership, acting_user,
                       previous_role=previous)
    _end_tokens(membership, acting_user, "role changed")
    _queue_notice(membership.pk)
    return membership


@transaction.atomic
def do_remove_member(membership: Membership, *, acting_user) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.ADMIN and _admins_left_after(membership) == 0:
        raise ValidationError("An agency keeps at least one admin: appoint another admin first.")
    _record_membership(Action.MEMBERSHIP_REMOVE, membership, acting_user)
    membership.delete()
    _end_tokens(membership, acting_user, "removed from the agency")


@transaction.atomic
def do_update_agency_settings(agency: Agency, changes: dict, *, acting_user) -> Agency:
    changed = sorted(f for f, v in changes.items() if getattr(agency, f) != v)
    for field, value in changes.items():
        setattr(agency, field, value)
    agency.full_clean()
    agency.save()
    if changed:
        record_action(Action.AGENCY_SETTINGS_CHANGE, acting_user=acting_user, agency=agency,
                      object_type="agency", object_id=agency.pk, details={"fields": changed})
    return agency


@transaction.atomic
@transaction.atomic
def do_create_board(name: str, slug: str, *, acting_user, description: str = "") -> OversightBoard:
    group = Group.objects.create(name=f"board:{slug}")
    board = OversightBoard.objects.create(name=name, slug=slug, group=group,
                                          description=description)
    record_action(Action.BOARD_CREATE, acting_user=acting_user, agency=None,
                  object_type="board", object_id=board.pk,
                  details={"board": board.slug, "name": board.name})
    return board


@transaction.atomic
def do_add_board_member(board: OversightBoard, user, *, acting_user,
                        role: BoardRole = BoardRole.MEMBER, **details) -> None:
    """Make `user` a member of `board`; a chair also gets `manage_board` on it."""
    board.group.user_set.add(user)
    if role == BoardRole.CHAIR:
        assign_perm(MANAGE_BOARD_PERMISSION, user, board)
    record_action(Action.BOARD_MEMBER_ADD, acting_user=acting_user, agency=None,
                  object_type="board", object_id=board.pk,
                  details={"board": board.slug, "user": user.get_username(),
                           "role": BoardRole(role).value, **details})


@transaction.atomic
def do_remove_board_member(board: OversightBoard, user, *, acting_user) -> None:
    """Remove `user` from `board` (and its chair's rights). The last chair stays: a board
    without one could not invite anyone again."""
    if board_chairs(board) == {user.pk}:
        raise ValidationError(f"{user.get_username()} is the board's only chair: invite "
                              "another chair first.")
    board.group.user_set.remove(user)
    remove_perm(MANAGE_BOARD_PERMISSION, user, board)
    record_action(Action.BOARD_MEMBER_REMOVE, acting_user=acting_user, agency=None,
                  object_type="board", object_id=board.pk,
                  details={"board": board.slug, "user": user.get_username()})


@transaction.atomic
def do_grant_board(board: OversightBoard, agency: Agency, *, acting_user) -> None:
    """Let the board's members read `agency`'s audit trail."""
    assign_perm(AUDIT_TRAIL_PERMISSION, board.group, agency)
    record_action(Action.BOARD_GRANT, acting_user=acting_user, agency=agency, object_type="board",
                  object_id=board.pk, details={"board": board.slug})


@transaction.atomic
def do_revoke_board(board: OversightBoard, agency: Agency, *, acting_user) -> None:
    remove_perm(AUDIT_TRAIL_PERMISSION, board.group, agency)
    record_action(Action.BOARD_REVOKE, acting_user=acting_user, agency=agency, object_type="board",
                  object_id=board.pk, details={"board": board.slug})
