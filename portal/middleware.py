"""Response headers: agency data never stored by browsers or shared caches; browser
features the portal never uses switched off."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Public, aggregate pages: the public map and API, transparency, static assets, liveness.
PUBLIC_PREFIXES = ("/public/", "/api/v1/public/", "/transparency/", "/static/", "/healthz")


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every response outside PUBLIC_PREFIXES that
    does not set its own (forecasts, exports, incidents, the audit trail, the API)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path != "/" and not request.path.startswith(PUBLIC_PREFIXES) \
                and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store, private"
        return response


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` (settings.PERMISSIONS_POLICY) on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
