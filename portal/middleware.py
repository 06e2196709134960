"""Response headers: agency data never stored by browsers or shared caches; browser
features the portal never uses switched off."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

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


class NulByteMiddleware:
    """400 for a request whose parameters or JSON body hold a NUL character: no text field
    can store one (PostgreSQL refuses it), and no legitimate input needs one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request):
            message = "A parameter holds a NUL character (\\x00): remove it."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _holds_nul(request: HttpRequest) -> bool:
    params = [request.GET]
    content_type = request.content_type or ""
    # (multipart bodies are left to the view: reading them here would spend its upload
    # handlers; their form fields refuse NUL characters themselves)
    if request.method == "POST" and content_type == "application/x-www-form-urlencoded":
        params.append(request.POST)
    for query in params:
        for key, values in query.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return True
    if content_type == "application/json":
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
    return False
