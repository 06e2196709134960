"""Who and where a request comes from: client address behind trusted proxies, request id."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def current_request() -> HttpRequest | None:
    """The request being served in this context, so actions need not pass it around."""
    return _current_request.get()


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n > 0 the address that the outermost of
    our n proxies saw (the n-th entry from the right of X-Forwarded-For)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    return hops[-proxies] if len(hops) >= proxies else remote


def request_id(request: HttpRequest) -> str:
    """The id given by a trusted proxy, else one of our own (set once per request)."""
    existing = getattr(request, "request_id", None)
    if existing:
        return existing
    given = request.META.get(REQUEST_ID_HEADER, "")
    rid = given if settings.TRUSTED_PROXY_COUNT > 0 and _REQUEST_ID_OK.match(given) else ""
    rid = rid or uuid.uuid4().hex
    setattr(request, "request_id", rid)  # noqa: B010 - HttpRequest declares no such attribute
    return rid


class RequestIdMiddleware:
    """Gives every request an id (echoed in X-Request-ID) and makes it the current request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id(request)
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(token)
        response["X-Request-ID"] = rid
        return response
