"""The public edge: repeat public API answers served in front of Django.

A public answer never changes for one state of an agency's releases (`public.api`). Once
Django has served one, this WSGI layer keeps the exact response (status, headers, body) and
serves it again to requests for the same answer, after the checks Django's path makes:

- the host is allowed and no HTTPS redirect is due (else Django answers);
- the client's throttle (the same counter as `public.api.throttled`, counted once: a
  request the edge passes on carries its verdict to the view);
- the agency still publishes and its releases are in the same state: the one query of
  `serving.published`, whose answer names the stored response. A release added or withdrawn,
  the map switched off or a month leaving the delay is seen by the very next request.
  With a `public.watch.StateWatch` listening (PostgreSQL), that query's answer is reused
  until the database notifies a change: a change is then seen as soon as its notification
  arrives, milliseconds after its commit, and the query is made again.

Everything else (a miss, a 404, a 429, an error, other paths and methods, HEAD included)
goes to Django unchanged.
What is stored is only a 200 answer of a view marked as a public answer (`public.api`),
under the key its ETag names, and never a response that sets a cookie. Each request keeps
its own X-Request-ID, and Django's request signals run as for any request (database
connections are closed or kept as configured). Set PUBLIC_EDGE=0 to serve all through Django.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from urllib.parse import parse_qsl

from django.conf import settings
from django.core import signals
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve

from audit.request_info import request_id
from public import api, serving

PREFIX = "/api/v1/public/"
NOT_MODIFIED_DROPS = {"content-type", "content-encoding", "content-length"}


class _Request:
    """The little of an HttpRequest that the throttle and request-id helpers read."""

    def __init__(self, environ: dict):
        self.META = environ


@lru_cache(maxsize=4096)
def _route(path: str) -> tuple | None:
    """(answer name, its query parameters, URL kwargs) for a public answer path, else None."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    spec = getattr(match.func, "public_answer", None)
    if spec is None:
        return None
    name, params = spec
    kwargs = dict(match.kwargs)
    slug = kwargs.pop("slug")
    return name, params, slug, tuple(sorted(kwargs.items()))


def _host_ok(environ: dict) -> bool:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    domain, _ = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _scheme(environ: dict) -> str:
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if header and environ.get(header[0], "").split(",")[0].strip() == header[1]:
        return "https"
    return environ.get("wsgi.url_scheme", "http")


class PublicEdge:
    """WSGI middleware: `application = PublicEdge(get_wsgi_application())`."""

    def __init__(self, app, max_bytes: int = 32 * 2**20, watch=None):
        self.app = app
        self.watch = watch  # a public.watch.StateWatch, or None: ask the database each time
        self._states: dict[str, tuple[int, tuple | None]] = {}  # slug -> (generation, row)
        self.max_bytes = max_bytes  # bodies kept per process, the least recently used go
        self._store: OrderedDict[tuple, tuple[str, list, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX) or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        route = _route(path)
        if route is None or not _host_ok(environ):
            return self.app(environ, start_response)
        scheme = _scheme(environ)
        if settings.SECURE_SSL_REDIRECT and scheme != "https":
            return self.app(environ, start_response)
        request = _Request(environ)
        gzipped = api.accepts_gzip(request)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            answer = self._answer(request, route, gzipped, scheme)
        finally:
            signals.request_finished.send(sender=self.__class__)
        if answer is None:
            return self._through(environ, start_response, gzipped, scheme)
        status, headers, body = answer
        headers = [*headers, ("X-Request-ID", request_id(request))]
        start_response(status, headers)
        self.hits += 1
        return [body]

    def _answer(self, request: _Request, route: tuple, gzipped: bool, scheme: str):
        """The stored response for this request, or None to let Django answer."""
        name, params, slug, kwargs = route
        try:
            # counted once, here: Django's view reads this verdict instead of counting again
            request.META[api.THROTTLE_VERDICT] = limited = api.throttled(request)
            if limited:
                return None  # Django answers 429, as it does without the edge
            pub = self._published(slug)
            query = dict(parse_qsl(request.META.get("QUERY_STRING", ""),
                                   keep_blank_values=True))
            key = serving.answer_key(pub, name, list(kwargs),
                                     [query.get(p, "") for p in params])
        except Exception:  # noqa: BLE001 - a 404, a database or cache error: Django answers
            return None
        with self._lock:
            stored = self._store.get((key, gzipped, scheme))
        if stored is None:
            return None
        status, headers, body = stored
        etag = next(v for k, v in headers if k == "ETag")
        if api.etag_matches(request, etag):
            kept = [(k, v) for k, v in headers if k.lower() not in NOT_MODIFIED_DROPS]
            return "304 Not Modified", kept, b""
        return status, headers, body

    def _published(self, slug: str) -> serving.Published:
        """`serving.published(slug)`; while the watch listens, the database's last answer
        is reused until a change is notified (the delay's months are computed anew)."""
        generation = self.watch.current() if self.watch is not None else None
        if generation is not None:
            known = self._states.get(slug)
            if known is not None and known[0] == generation:
                return serving.published_from(known[1])
        row = serving.published_row(slug)
        if row is not None and generation is not None and self.watch.current() == generation:
            if len(self._states) > 10_000:
                self._states.clear()
            self._states[slug] = (generation, row)
        return serving.published_from(row)

    def _through(self, environ, start_response, gzipped: bool, scheme: str):
        """Django answers; a public answer it marks is kept for the next requests."""
        seen: dict = {}

        def capture(status, headers, exc_info=None):
            seen.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        headers = seen.get("headers", [])
        etag = next((v for k, v in headers if k == "ETag"), "")
        key = etag.removeprefix('W/"').removesuffix('"')
        storable = (etag == api.etag_for(key) and seen["status"].startswith("200")
                    and not any(k.lower() == "set-cookie" for k, _ in headers))
        if not storable:
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        kept = [(k, v) for k, v in headers if k != "X-Request-ID"]
        self._keep((key, gzipped, scheme), (seen["status"], kept, body))
        return [body]

    def _keep(self, key: tuple, response: tuple[str, list, bytes]) -> None:
        size = len(response[2])
        if size > self.max_bytes // 8:
            return  # one answer never crowds out the others
        with self._lock:
            old = self._store.pop(key, None)
            self._bytes += size - (len(old[2]) if old else 0)
            self._store[key] = response
            while self._bytes > self.max_bytes:
                _, dropped = self._store.popitem(last=False)
                self._bytes -= len(dropped[2])

