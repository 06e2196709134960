"""What the onboarding pages share: the platform staff's check, and sending, resending and
revoking an invitation with the page's message (agency and board invitations alike)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from agencies.models import Invitation
from agencies.onboarding import actions
from audit.middleware import DENIAL_ATTRIBUTE

logger = logging.getLogger(__name__)


def staff_only(request: HttpRequest) -> None:
    """Platform pages are for staff (the portal's administrators); others are refused (403,
    recorded like every refusal)."""
    if not (request.user.is_active and request.user.is_staff):
        setattr(request, DENIAL_ATTRIBUTE, {"agency": None, "reason": "needs platform staff",
                                            "role": ""})
        raise PermissionDenied("This page is for the portal's administrators.")


def send_link(request: HttpRequest, invitation: Invitation, token: str, done: str) -> None:
    try:
        link = actions.send_invitation(invitation, token)
    except OSError as exc:  # SMTP and socket errors: the invitation stays, to be resent
        logger.exception("invitation %s: the email could not be sent", invitation.pk)
        messages.error(request, f"The invitation of {invitation.email} is saved, but the email "
                                f"could not be sent ({exc.__class__.__name__}): resend it.")
        return
    text = (f"{done} {invitation.email} ({invitation.role_label}). The link works once, for "
            f"{settings.INVITATION_DAYS} days.")
    if settings.DEBUG:
        text += f" Demo (DEBUG only): {link}"
    messages.success(request, text)


def resend(request: HttpRequest, invitation: Invitation) -> None:
    try:
        invitation, token = actions.do_resend_invitation(invitation, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        send_link(request, invitation, token, "Sent a new link to")


def revoke(request: HttpRequest, invitation: Invitation) -> None:
    try:
        actions.do_revoke_invitation(invitation, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Revoked the invitation of {invitation.email}: its link no "
                                  "longer works.")
