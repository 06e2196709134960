"""The one access rule of the portal.

Every view, API viewset `get_queryset()` and task reaches tenant objects through these
helpers. An agency the user is not a member of does not exist for them (404, never 403 and
never data); a member whose role is too low gets 403. Oversight boards reach agencies only
through a django-guardian grant (`agencies.view_audit_trail`), never through membership.
Superusers are not implicitly members: tenant data is reached through a membership, so
that every read is attributable to a role.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.db.models import F, Model, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from agencies.models import MANAGE_BOARD, Agency, Membership, OversightBoard
from agencies.roles import Role

M = TypeVar("M", bound=Model)

AUDIT_TRAIL_PERMISSION = "agencies.view_audit_trail"


def _user(user_or_request) -> Any:
    """The user (authenticated or anonymous) of a request, or the user given."""
    return getattr(user_or_request, "user", user_or_request)


def _deny(user_or_request, error: Exception, *, slug: str, reason: str,
          role: str = "") -> NoReturn:
    """Raise `error`; when given a request, mark it so the audit middleware records the
    denial (after the view's transaction, so the record survives its rollback)."""
    if hasattr(user_or_request, "META"):
        user_or_request._access_denied = {
            "agency": Agency.objects.filter(slug=slug).first(),
            "reason": reason,
            "role": role,
        }
    raise error


def membership_for(user_or_request, agency: Agency) -> Membership | None:
    user = _user(user_or_request)
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, agency=agency).first()


def role_of(user, agency: Agency | None) -> str:
    """The user's role for an audit record: their membership role in `agency`, "system"
    without a user, "superuser" for a superuser who is not a member, else ""."""
    if user is None:
        return "system"
    membership = membership_for(user, agency) if agency is not None else None
    if membership is not None:
        return membership.role
    return "superuser" if getattr(user, "is_superuser", False) else ""


def get_agency_for_user(
    user_or_request, slug: str, *, min_role: Role = Role.VIEWER
) -> Agency:
    """The agency `slug` as seen by a member with at least `min_role`.

    Raises Http404 when the user is not a member (or the agency does not exist) and
    PermissionDenied when the member's role is below `min_role`. The returned agency
    carries the member's role as `agency.member_role`.
    """
    user = _user(user_or_request)
    if not user.is_authenticated:
        raise Http404("No such agency.")
    membership = (
        Membership.objects.select_related("agency").filter(user=user, agency__slug=slug).first()
    )
    if membership is None:
        _deny(user_or_request, Http404("No such agency."), slug=slug, reason="not a member")
    role = membership.role_enum
    if not role.at_least(min_role):
        _deny(
            user_or_request,
            PermissionDenied(f"This needs the {Role(min_role).value} role in {membership.agency}."),
            slug=slug, reason=f"needs role {Role(min_role).value}", role=role.value,
        )
    agency = membership.agency
    agency.member_role = role
    return agency


def agencies_for_user(user_or_request, *, min_role: Role = Role.VIEWER) -> QuerySet[Agency]:
    """Agencies where the user holds at least `min_role`."""
    user = _user(user_or_request)
    if not user.is_authenticated:
        return Agency.objects.none()
    return Agency.objects.filter(
        memberships__user=user, memberships__role__in=Role.at_least_list(min_role)
    ).distinct()


def restrict(
    queryset: QuerySet[M], user_or_request, *, min_role: Role = Role.VIEWER
) -> QuerySet[M]:
    """Tenant-owned rows (with an `agency` field) of agencies where the user holds `min_role`."""
    return queryset.filter(agency__in=agencies_for_user(user_or_request, min_role=min_role))


def get_object_for_user(
    user_or_request,
    queryset: QuerySet[M],
    *,
    agency_slug: str,
    min_role: Role = Role.VIEWER,
    **lookup,
) -> M:
    """One tenant-owned object of agency `agency_slug`: 404 for other agencies, 403 for a
    too-low role, 404 when the object is not the agency's."""
    user = _user(user_or_request)
    if user.is_authenticated:
        # The usual case in one query: the object, its agency and the user's role there.
        obj = (queryset.filter(agency__slug=agency_slug, agency__memberships__user=user,
                               **lookup)
               .annotate(_member_role=F("agency__memberships__role"))
               .select_related("agency").defer("agency__boundary").order_by().first())
        if obj is not None and Role(obj._member_role).at_least(min_role):
            obj.agency.member_role = Role(obj._member_role)
            return obj
    # A refusal: say which (404 no such agency for the user, 403 role, 404 no such object).
    agency = get_agency_for_user(user_or_request, agency_slug, min_role=min_role)
    obj = queryset.filter(agency=agency, **lookup).first()
    if obj is None:
        _deny(user_or_request, Http404("No such object."), slug=agency_slug,
              reason=f"no such {queryset.model._meta.model_name} in this agency",
              role=agency.member_role.value)
    obj.agency = agency  # type: ignore[attr-defined]  # the instance that knows the role
    return obj


def get_membership_for_admin(user_or_request, agency_slug: str, membership_id: int) -> Membership:
    """A membership of an agency the user administers."""
    return get_object_for_user(
        user_or_request,
        Membership.objects.select_related("user", "agency"),
        agency_slug=agency_slug,
        min_role=Role.ADMIN,
        pk=membership_id,
    )


def boards_for_user(user_or_request) -> QuerySet[OversightBoard]:
    user = _user(user_or_request)
    if not user.is_authenticated:
        return OversightBoard.objects.none()
    return OversightBoard.objects.filter(group__user=user)


def agencies_overseen_by(user_or_request) -> QuerySet[Agency]:
    """Agencies whose audit trail the user may read through a board's grant."""
    user = _user(user_or_request)
    if not user.is_authenticated:
        return Agency.objects.none()
    return get_objects_for_user(
        user,
        AUDIT_TRAIL_PERMISSION,
        klass=Agency,
        with_superuser=False,
        accept_global_perms=False,
    )


def get_overseen_agency(user_or_request, slug: str) -> Agency:
    """An agency whose audit trail the user may read; 404 otherwise."""
    agency = agencies_overseen_by(user_or_request).filter(slug=slug).first()
    if agency is None:
        _deny(user_or_request, Http404("No such agency."), slug=slug,
              reason="no oversight grant", role="board")
    return agency


MANAGE_BOARD_PERMISSION = f"agencies.{MANAGE_BOARD}"


def get_board_to_manage(user_or_request, slug: str) -> OversightBoard:
    """A board whose members the user may invite and remove: its chairs (a django-guardian
    grant of `manage_board` on it) and platform administrators (staff). Another member of
    the board gets 403; anyone else 404."""
    user = _user(user_or_request)
    board = OversightBoard.objects.select_related("group").filter(slug=slug).first()
    if board is None or not user.is_authenticated:
        raise Http404("No such board.")
    if user.is_staff or user.has_perm(MANAGE_BOARD_PERMISSION, board):
        return board
    if board.group.user_set.filter(pk=user.pk).exists():
        _deny(user_or_request, PermissionDenied("This needs the board chair's rights."),
              slug="", reason="needs board chair", role="board")
    _deny(user_or_request, Http404("No such board."), slug="", reason="not a board member")


def agencies_granted_to(board: OversightBoard) -> QuerySet[Agency]:
    """The agencies whose audit trail `board` was granted."""
    from guardian.shortcuts import get_objects_for_group

    return get_objects_for_group(board.group, AUDIT_TRAIL_PERMISSION, klass=Agency,
                                 accept_global_perms=False)


def board_chairs(board: OversightBoard) -> set[int]:
    """The ids of the users who hold `manage_board` on `board` (one query)."""
    from guardian.shortcuts import get_users_with_perms

    users = cast(QuerySet, get_users_with_perms(board, only_with_perms_in=[MANAGE_BOARD],
                                                with_group_users=False))
    return set(users.values_list("pk", flat=True))
