"""Second factors (django-otp): a TOTP device (an authenticator app) with ten single-use
recovery codes (a static device).

Who needs one: with ``MFA_REQUIRED`` on, every agency member, board member and platform
administrator; whoever has enrolled passes it after the password in any case. The session
remembers whether its user has a factor (``SESSION_STATE``, forgotten at every sign-in), so
a verified or factor-less session costs no query per request.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import django_otp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import Membership, OversightBoard
from agencies.onboarding.actions import record
from audit.events import Action
from audit.models import Outcome

RECOVERY_CODES = 10
SESSION_STATE = "_second_factor"
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def has_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def users_with_factor(user_ids) -> set[int]:
    return set(TOTPDevice.objects.filter(user_id__in=list(user_ids), confirmed=True)
               .values_list("user_id", flat=True))


def must_enrol(user) -> bool:
    """Whether `user` must have a second factor: MFA_REQUIRED and they reach agency data
    (a member), an audit trail (a board member) or the platform (staff)."""
    if not settings.MFA_REQUIRED:
        return False
    return bool(user.is_staff or user.is_superuser
                or Membership.objects.filter(user=user).exists()
                or OversightBoard.objects.filter(group__user=user).exists())


def is_verified(request: HttpRequest) -> bool:
    check = getattr(request.user, "is_verified", None)
    return bool(check and check())


def remember(request: HttpRequest, *, device: bool) -> None:
    request.session[SESSION_STATE] = {"user": request.user.pk, "device": device}


def step_needed(request: HttpRequest) -> str | None:
    """"verify", "enrol" or None for a signed-in, unverified session."""
    state = request.session.get(SESSION_STATE)
    if not isinstance(state, dict) or state.get("user") != request.user.pk:
        remember(request, device=has_factor(request.user))
        state = request.session[SESSION_STATE]
    if state["device"]:
        return "verify"
    return "enrol" if must_enrol(request.user) else None


def forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_STATE, None)


def pass_factor(request: HttpRequest, device) -> None:
    """The session passed the second factor with `device`: a new session key for the new
    privilege, and django-otp's mark on the session."""
    request.session.cycle_key()
    django_otp.login(request, device)
    remember(request, device=True)


# --- enrolment ------------------------------------------------------------------------------

def pending_device(user) -> TOTPDevice:
    """The user's unconfirmed TOTP device (the secret shown while enrolling), made once."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The base32 secret, in groups of four, for typing into an app."""
    secret = base64.b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (an <img>: no inline markup the
    Content-Security-Policy would refuse)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage,
                        box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


@transaction.atomic
def do_enrol(request: HttpRequest, code: str, *, acting_user) -> list[str] | None:
    """Confirm the pending TOTP device with a code from the app: the recovery codes (shown
    once), or None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(
        user=acting_user, confirmed=False).order_by("pk").first()
    if device is None or not device.verify_token(_digits(code)):
        record(Action.MFA_FAILED, acting_user=acting_user, agency=None, outcome=Outcome.DENIED,
               details={"step": "enrol"})
        return None
    TOTPDevice.objects.filter(user=acting_user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(acting_user)
    pass_factor(request, device)
    record(Action.MFA_ENROL, acting_user=acting_user, agency=None, object_type="user",
           object_id=acting_user.pk, details={"recovery_codes": len(codes)})
    return codes


@transaction.atomic
def do_new_recovery_codes(*, acting_user) -> list[str]:
    codes = _new_recovery_codes(acting_user)
    record(Action.MFA_RECOVERY_CODES, acting_user=acting_user, agency=None, object_type="user",
           object_id=acting_user.pk, details={"recovery_codes": len(codes)})
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


# --- signing in -------------------------------------------------------------------------------

def _digits(code: str) -> str:
    return "".join(code.split())


def verify(request: HttpRequest, code: str) -> tuple[bool, str]:
    """Check a TOTP code or a recovery code of the signed-in user; on success mark the
    session verified. Returns (passed, what the user is told)."""
    user = request.user
    code = _digits(code).lower()
    devices: list[Any] = [*TOTPDevice.objects.filter(user=user, confirmed=True),
                          *StaticDevice.objects.filter(user=user, confirmed=True)]
    if not code.isdigit():  # recovery codes are letters and digits; TOTP codes digits only
        devices = [d for d in devices if isinstance(d, StaticDevice)]
    for device in devices:
        allowed, info = device.verify_is_allowed()
        if not allowed and info and info.get("locked_until"):
            record(Action.MFA_FAILED, acting_user=user, agency=None, outcome=Outcome.DENIED,
                   details={"step": "sign-in", "throttled": True})
            return False, "Too many wrong codes: wait a little and try again."
        if django_otp.verify_token(user, device.persistent_id, code) is not None:
            pass_factor(request, device)
            kind = "recovery code" if isinstance(device, StaticDevice) else "totp"
            details: dict[str, Any] = {"with": kind}
            if kind == "recovery code":
                details["recovery_codes_left"] = recovery_codes_left(user)
            record(Action.MFA_VERIFY, acting_user=user, agency=None, details=details)
            return True, ""
    record(Action.MFA_FAILED, acting_user=user, agency=None, outcome=Outcome.DENIED,
           details={"step": "sign-in"})
    return False, "That code is not right. Enter the current code of your app, or a recovery code."


def remove_factors(users) -> None:
    """Remove the factors of `users` (a queryset) without a record: the demo's reseed only."""
    TOTPDevice.objects.filter(user__in=users).delete()
    StaticDevice.objects.filter(user__in=users).delete()


# --- administrators ---------------------------------------------------------------------------

@transaction.atomic
def do_reset_factor(membership: Membership, *, acting_user) -> int:
    """Remove a member's second factor (a lost phone): they enrol again at their next
    request. Returns the number of devices removed."""
    user = membership.user
    removed = (TOTPDevice.objects.filter(user=user).count()
               + StaticDevice.objects.filter(user=user).count())
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    record(Action.MFA_RESET, acting_user=acting_user, agency=membership.agency,
           object_type="membership", object_id=membership.pk,
           details={"user": user.get_username(), "devices": removed})
    return removed
