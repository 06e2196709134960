"""Second factor before anything else: a signed-in user who has enrolled passes the factor,
and one who must have a factor (``factors.must_enrol``) enrols, before any other page.

Left alone: the factor's own pages, sign-out, static files, the public pages and API, the
transparency pages and the health check. The API answers 403 instead of a redirect (token
requests carry no session and are not concerned: a token is created by a verified session).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse

from agencies.onboarding import factors

OPEN_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/public/", "/api/v1/public/",
                 "/transparency/", "/healthz/", "/favicon.ico")


@receiver(user_logged_in)
def _forget_factor_state(sender, request, user, **kwargs) -> None:
    """A new sign-in looks again whether its user has a factor."""
    if request is not None and hasattr(request, "session"):
        factors.forget(request)


def _open(path: str) -> bool:
    static = "/" + settings.STATIC_URL.lstrip("/")
    return path.startswith((*OPEN_PREFIXES, static))


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not _open(request.path) and not factors.is_verified(
                request):
            step = factors.step_needed(request)
            if step is not None:
                return self._send_to(request, step)
        return self.get_response(request)

    @staticmethod
    def _send_to(request, step: str):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "Pass the second factor first (sign in on the "
                                           "portal's pages), or use an API token."},
                                status=403)
        url = reverse("mfa-verify" if step == "verify" else "mfa-setup")
        if request.method in ("GET", "HEAD"):
            url += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(url)
