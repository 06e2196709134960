"""State changes of onboarding, each in one transaction with its audit record: a platform
administrator creates an agency; admins invite, resend and revoke; the invitee accepts.

An invitation's link carries a random token; only its sha256 is stored, so a resend makes a
new link (the old one stops working) and a stolen database holds no usable link.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

import audit
from agencies.access import role_of
from agencies.actions import do_add_board_member
from agencies.models import Agency, BoardRole, Invitation, Membership, OversightBoard
from agencies.roles import Role
from agencies.tokens import end_tokens
from audit.events import Action
from audit.models import Outcome

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32


class InvitationRefused(Exception):
    """The link was used, revoked or has expired (`reason` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def _expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_DAYS)


def actor_role(user, agency: Agency | None) -> str:
    """The role an audit record names: the agency role, else "staff" for a platform
    administrator who is not a member (role_of says "superuser" for superusers)."""
    role = role_of(user, agency)
    if not role and getattr(user, "is_staff", False):
        return "staff"
    return role


def record(action: Action, *, acting_user, agency: Agency | None, **fields: Any):
    return audit.record(action=action, actor=acting_user,
                        actor_role=actor_role(acting_user, agency), agency=agency, **fields)


def _record_invitation(action: Action, invitation: Invitation, acting_user,
                       outcome: str = Outcome.ALLOWED, **details) -> None:
    """An agency's invitation is an "invitation" object of the agency's trail; a board's is
    recorded on the board (object "board"), where its members' oversight page shows it."""
    where: dict[str, Any] = {"object_type": "invitation", "object_id": invitation.pk}
    if invitation.board is not None:
        where = {"object_type": "board", "object_id": invitation.board.pk}
        details = {"board": invitation.board.slug, "invitation": invitation.pk, **details}
    record(action, acting_user=acting_user, agency=invitation.agency, outcome=outcome, **where,
           details={"email": invitation.email, "role": invitation.role, **details})


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token opens, whatever its state; None for an unknown token."""
    if not token or len(token) > 128:
        return None
    return (Invitation.objects.select_related("agency", "board", "invited_by")
            .filter(token_hash=hash_token(token)).first())


def invitation_link(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("invitation-accept", args=[token])


# --- platform administrators ---------------------------------------------------------------

@transaction.atomic
def do_create_agency(values: dict, *, acting_user) -> Agency:
    """A new agency (name, slug, timezone, cell_size_m, boundary, access_purposes)."""
    agency = Agency(**values)
    agency.full_clean()
    agency.save()
    record(Action.AGENCY_CREATE, acting_user=acting_user, agency=agency, object_type="agency",
           object_id=agency.pk,
           details={"name": agency.name, "slug": agency.slug, "timezone": agency.timezone,
                    "cell_size_m": agency.cell_size_m, "boundary": agency.boundary is not None,
                    "purposes": [code for code, _ in agency.access_purposes]})
    return agency


# --- invitations -----------------------------------------------------------------------------

@transaction.atomic
def do_invite(agency: Agency, email: str, role: Role, *, acting_user) -> tuple[Invitation, str]:
    """A pending invitation and its link's token (to send; it is never stored)."""
    email = BaseUserManager.normalize_email(email.strip())
    role = Role(role)
    if Membership.objects.filter(agency=agency, user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member of {agency}.")
    return _create_invitation(email, role, acting_user, agency=agency)


def _create_invitation(email: str, role: str, acting_user, **target) -> tuple[Invitation, str]:
    """A pending invitation to `target` (agency= or board=) unless one is pending already."""
    if Invitation.objects.filter(**target, email__iexact=email, accepted_at__isnull=True,
                                 revoked_at__isnull=True, expires_at__gt=timezone.now()).exists():
        raise ValidationError(f"{email} already has a pending invitation: resend or revoke it.")
    token, digest = _new_token()
    invitation = Invitation.objects.create(**target, email=email, role=role, token_hash=digest,
                                           invited_by=acting_user, expires_at=_expiry())
    _record_invitation(Action.INVITATION_CREATE, invitation, acting_user)
    return invitation, token


@transaction.atomic
def do_invite_to_board(board: OversightBoard, email: str, role: BoardRole, *,
                       acting_user) -> tuple[Invitation, str]:
    """A pending invitation to `board` and its link's token (to send; never stored)."""
    email = BaseUserManager.normalize_email(email.strip())
    role = BoardRole(role)
    if board.group.user_set.filter(email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member of {board}.")
    return _create_invitation(email, role, acting_user, board=board)


@transaction.atomic
def do_resend_invitation(invitation: Invitation, *, acting_user) -> tuple[Invitation, str]:
    """A new link (the old one stops working) with a new expiry, for a pending or expired
    invitation."""
    invitation = (Invitation.objects.select_for_update(of=("self",))
                  .select_related("agency", "board").get(pk=invitation.pk))
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError(f"The invitation of {invitation.email} was {invitation.status}: "
                              "invite them again instead.")
    token, digest = _new_token()
    invitation.token_hash = digest
    invitation.expires_at = _expiry()
    invitation.save(update_fields=["token_hash", "expires_at"])
    _record_invitation(Action.INVITATION_RESEND, invitation, acting_user)
    return invitation, token


@transaction.atomic
def do_revoke_invitation(invitation: Invitation, *, acting_user) -> Invitation:
    invitation = (Invitation.objects.select_for_update(of=("self",))
                  .select_related("agency", "board").get(pk=invitation.pk))
    if invitation.accepted_at is not None:
        raise ValidationError(f"{invitation.email} has already accepted: remove the member "
                              "instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.revoked_by = acting_user
        invitation.save(update_fields=["revoked_at", "revoked_by"])
        _record_invitation(Action.INVITATION_REVOKE, invitation, acting_user)
    return invitation


def send_invitation(invitation: Invitation, token: str) -> str:
    """Email the link (Django's mail settings) and return it. Called after the commit that
    made the token, so a mail failure leaves an invitation that can be resent."""
    link = invitation_link(token)
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "An administrator"
    expires = timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d %H:%M %Z")
    send_mail(
        subject=f"[Crime-prediction portal] Invitation to {invitation.target.name}",
        message=(
            f"Hello,\n\n{inviter} invites you to {invitation.target.name} on the "
            f"crime-prediction portal, with the {invitation.role_label} role.\n\n"
            f"Open this link to set your password and a second factor (an authenticator "
            f"app). It works once, until {expires}:\n\n{link}\n\n"
            "If you did not expect this invitation, ignore this message.\n"
            "Every access to a forecast is recorded and reviewed by an oversight board.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now(),
                                                       times_sent=F("times_sent") + 1)
    if settings.DEBUG:  # the demo: the link is also in the server's log
        logger.info("Invitation link for %s (%s): %s", invitation.email,
                    invitation.target.slug, link)
    return link


def record_refusal(invitation: Invitation, reason: str, *, acting_user=None) -> None:
    """Someone opened a link that no longer works."""
    _record_invitation(Action.INVITATION_REFUSED, invitation, acting_user,
                       outcome=Outcome.DENIED, reason=reason)


def _claim(invitation: Invitation, user) -> None:
    """Mark the invitation used by `user`, once: the conditional update is the single-use
    guarantee (a second request finds nothing to claim)."""
    claimed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(accepted_at=timezone.now(), accepted_by=user)
    if claimed != 1:
        invitation.refresh_from_db()
        raise InvitationRefused(invitation.status)


@transaction.atomic
def do_accept_invitation(invitation: Invitation, *, acting_user=None, username: str = "",
                         password: str = ""):
    """Accept as `acting_user` (an account holding the invited email) or, without one, as a
    new account `username` with `password` and the invited email. The user who joined."""
    if acting_user is None:
        user = get_user_model().objects.create_user(username=username, email=invitation.email,
                                                    password=password)
    else:
        user = acting_user
        if (user.email or "").lower() != invitation.email.lower():
            raise ValidationError("This invitation is for another email address.")
    _claim(invitation, user)
    invited_by = invitation.invited_by.get_username() if invitation.invited_by else ""
    if invitation.board is not None:
        board = invitation.board
        if board.group.user_set.filter(pk=user.pk).exists():
            raise ValidationError(f"{user.get_username()} is already a member of {board}.")
        do_add_board_member(board, user, acting_user=user, role=BoardRole(invitation.role),
                            invitation=invitation.pk, invited_by=invited_by)
    else:
        agency = invitation.agency
        assert agency is not None  # an invitation is to a board or to an agency
        if Membership.objects.filter(user=user, agency=agency).exists():
            raise ValidationError(f"{user.get_username()} is already a member of {agency}.")
        membership = Membership.objects.create(user=user, agency=agency, role=invitation.role,
                                               notified_at=timezone.now())
        record(Action.MEMBERSHIP_ADD, acting_user=user, agency=agency, object_type="membership",
               object_id=membership.pk,
               details={"user": user.get_username(), "role": membership.role,
                        "invitation": invitation.pk, "invited_by": invited_by})
    _record_invitation(Action.INVITATION_ACCEPT, invitation, user,
                       user=user.get_username(), new_account=acting_user is None)
    return user


# --- passwords ------------------------------------------------------------------------------

def do_change_password(request, form, *, acting_user) -> int:
    """Save the new password, end the user's API tokens, record it; keep this session only
    (the others fail Django's session hash check from now on). The tokens ended."""
    with transaction.atomic():
        user = form.save()
        ended = end_tokens(user, reason="password changed", acting_user=acting_user)
        audit.record(action=Action.AUTH_PASSWORD_CHANGE, request=request, actor=acting_user,
                     object_type="user", object_id=user.pk, details={"tokens_ended": ended})
    update_session_auth_hash(request, user)
    return ended
