"""Account lockout: AXES_FAILURE_LIMIT failed logins within AXES_FAILURE_WINDOW seconds lock
a username until an administrator releases it."""

from __future__ import annotations

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone


class WindowedAxesHandler(AxesDatabaseHandler):
    """django-axes with a counting window: failures older than the window are forgotten
    unless they already reached the limit (a lock never expires by itself)."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
        username = (credentials or {}).get(field)
        if username:
            stale = timezone.now() - timedelta(seconds=settings.AXES_FAILURE_WINDOW)
            AccessAttempt.objects.filter(
                username=username,
                attempt_time__lt=stale,
                failures_since_start__lt=settings.AXES_FAILURE_LIMIT,
            ).delete()
        return super().user_login_failed(sender, credentials, request, **kwargs)
