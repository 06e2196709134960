"""Sign-in events: logins, logouts, failed logins and lockouts."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.events import Action
from audit.models import Outcome
from audit.recorder import record


def _attempted_username(credentials: dict | None) -> str:
    return str((credentials or {}).get("username", ""))[:150]


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    record(action=Action.AUTH_LOGIN, request=request, actor=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(action=Action.AUTH_LOGOUT, request=request, actor=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    record(
        action=Action.AUTH_LOGIN_FAILED, request=request, outcome=Outcome.DENIED,
        details={"username": _attempted_username(credentials)},
    )


@receiver(user_locked_out)
def _locked_out(sender, request, username=None, ip_address=None, **kwargs) -> None:
    record(
        action=Action.AUTH_LOCKOUT, request=request, outcome=Outcome.DENIED,
        details={"username": str(username or "")[:150]},
    )
