"""Session lifetime: logged-in sessions end after SESSION_IDLE_TIMEOUT seconds without a
request and SESSION_MAX_AGE seconds after login, whichever comes first."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver

LOGIN_AT = "_login_at"
SEEN_AT = "_seen_at"
# Refresh the idle clock at most this often, to avoid a session write on every request.
TOUCH_EVERY_SECONDS = 60


@receiver(user_logged_in)
def _stamp_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT] = now
        request.session[SEEN_AT] = now


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            login_at = request.session.get(LOGIN_AT, now)
            seen_at = request.session.get(SEEN_AT, now)
            expired = (
                now - seen_at > settings.SESSION_IDLE_TIMEOUT
                or now - login_at > settings.SESSION_MAX_AGE
            )
            if expired:
                logout(request)
                messages.info(request, "Your session expired. Please sign in again.")
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect_to_login(request.get_full_path())
            if now - seen_at >= TOUCH_EVERY_SECONDS or SEEN_AT not in request.session:
                request.session[SEEN_AT] = now
                request.session.setdefault(LOGIN_AT, now)
        return self.get_response(request)
