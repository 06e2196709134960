"""The public edge (public/edge.py): repeat public API answers served in front of Django,
after the same checks, and never an answer Django would no longer give."""

from __future__ import annotations

import gzip
import io
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connection
from django.test import RequestFactory
from django.urls import reverse

from agencies.models import Agency
from public.edge import PublicEdge
from public.models import PublicRelease
from public.watch import StateWatch

MAP_Q = "?category=theft&from=2024-03&to=2024-03"


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes


class CountingApp:
    """Django's WSGI handler, counting the requests that reach it."""

    def __init__(self):
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.django(environ, start_response)


@contextmanager
def kept_test_connection():
    """As Django's test client does: requests must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call(app, path: str, method: str = "GET", **headers) -> Answer:
    environ = RequestFactory().generic(method, path, **headers).environ
    environ["wsgi.input"] = io.BytesIO(b"")
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen.update(status=int(status.split()[0]), headers=dict(response_headers))

    with kept_test_connection():
        result = app(environ, start_response)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
    return Answer(seen["status"], seen["headers"], body)


def map_url(query: str = MAP_Q) -> str:
    return reverse("public-api-map", args=["alpha"]) + query


def api_urls() -> list[str]:
    return [
        map_url(),
        map_url(""),
        reverse("public-api-meta", args=["alpha"]),
        reverse("public-api-trend", args=["alpha"]) + "?category=theft",
        reverse("public-api-month", args=["alpha", "2024-03"]),
    ]


@pytest.fixture
def edge(published):
    inner = CountingApp()
    return PublicEdge(inner), inner


def without_request_id(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k != "X-Request-ID"}


@pytest.mark.parametrize("encoding", ["gzip", ""])
def test_it_serves_a_repeat_answer_exactly_as_django_did_without_django(edge, encoding):
    # given an answer Django has served once through the edge
    app, inner = edge
    for url in api_urls():
        first = call(app, url, HTTP_ACCEPT_ENCODING=encoding)
        calls = inner.calls
        # when it is asked again
        again = call(app, url, HTTP_ACCEPT_ENCODING=encoding)
        # then the edge answers with Django's bytes and headers, and Django is not called
        assert inner.calls == calls, url
        assert again.status == first.status == 200, url
        assert again.body == first.body, url
        assert without_request_id(again.headers) == without_request_id(first.headers), url
        assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
        django = call(inner, url, HTTP_ACCEPT_ENCODING=encoding)  # and Django agrees
        assert django.body == again.body, url
        assert without_request_id(django.headers) == without_request_id(again.headers), url
    assert app.hits == len(api_urls())


def test_it_keeps_gzip_and_plain_answers_apart(edge):
    app, _ = edge
    packed = call(app, map_url(), HTTP_ACCEPT_ENCODING="gzip")
    plain = call(app, map_url())
    packed_again = call(app, map_url(), HTTP_ACCEPT_ENCODING="gzip, br")
    plain_again = call(app, map_url(), HTTP_ACCEPT_ENCODING="gzip;q=0")
    assert app.hits == 2
    assert packed_again.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain_again.headers
    assert gzip.decompress(packed_again.body) == plain_again.body == plain.body
    assert packed.body == packed_again.body


def test_it_answers_a_matching_etag_with_304(edge):
    app, inner = edge
    first = call(app, map_url())
    calls = inner.calls
    unchanged = call(app, map_url(), HTTP_IF_NONE_MATCH=first.headers["ETag"])
    assert inner.calls == calls
    assert unchanged.status == 304 and unchanged.body == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    assert "Content-Type" not in unchanged.headers
    other = call(app, map_url(), HTTP_IF_NONE_MATCH='W/"something-else"')
    assert other.status == 200 and other.body == first.body


def test_it_sees_the_map_switched_off_at_once(edge, published):
    app, _ = edge
    answers = {url: call(app, url) for url in api_urls()}
    # a queryset update sends no signal: only the per-request check can see it
    Agency.objects.filter(pk=published.alpha.pk).update(publishes_public_map=False)
    for url, answer in answers.items():
        assert call(app, url).status == 404, url
        assert call(app, url, HTTP_IF_NONE_MATCH=answer.headers["ETag"]).status == 404, url
    hits = app.hits
    Agency.objects.filter(pk=published.alpha.pk).update(publishes_public_map=True)
    for url, answer in answers.items():  # back on: the same state, served by the edge again
        assert call(app, url).body == answer.body, url
    assert app.hits == hits + len(answers)


def test_it_never_serves_an_answer_of_a_withdrawn_release(edge, published):
    app, _ = edge
    whole = map_url("")
    before = call(app, whole)
    march = call(app, map_url())
    PublicRelease.objects.filter(agency=published.alpha, month=date(2024, 3, 1)).delete()
    after = call(app, whole)
    assert after.status == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.body != before.body
    assert call(app, map_url()).status == 404  # March itself is gone
    assert march.status == 200


def test_it_never_serves_a_month_that_entered_the_delay(edge, settings):
    from datetime import UTC, datetime

    app, _ = edge
    may = map_url("?from=2024-05&to=2024-05")
    assert call(app, may).status == 200
    assert call(app, may).status == 200
    settings.PUBLIC_DELAY_DAYS = (datetime.now(UTC) - datetime(2024, 6, 1, tzinfo=UTC)).days + 2
    assert call(app, may).status == 404


def test_it_applies_the_throttle_to_the_answers_it_serves(edge, settings):
    app, _ = edge
    settings.PUBLIC_API_RATE_PER_MINUTE = 3
    statuses = [call(app, map_url()).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert app.hits == 2


@pytest.mark.parametrize(
    "method, url, headers",
    [
        ("POST", None, {}),
        ("HEAD", None, {}),
        ("GET", "/api/v1/public/", {}),
        ("GET", "/healthz/", {}),
        ("GET", None, {"HTTP_HOST": "evil.example"}),
    ],
)
def test_it_leaves_other_methods_paths_and_hosts_to_django(edge, method, url, headers):
    app, inner = edge
    url = url or map_url()
    call(app, map_url())  # stored
    calls = inner.calls
    first = call(app, url, method, **headers)
    second = call(app, url, method, **headers)
    assert inner.calls == calls + 2
    assert first.status == second.status
    if "HTTP_HOST" in headers:
        assert first.status == 400
    if method == "HEAD":  # the public API answers GET only
        assert first.status == 405


def test_it_never_stores_a_response_that_sets_a_cookie(published):
    django = WSGIHandler()

    def cookie_setting(environ, start_response):
        def with_cookie(status, headers, exc_info=None):
            return start_response(status, [*headers, ("Set-Cookie", "x=1")], exc_info)

        return django(environ, with_cookie)

    app = PublicEdge(cookie_setting)
    call(app, map_url())
    call(app, map_url())
    assert app.hits == 0


def test_it_keeps_answers_within_its_byte_budget(published):
    # given an edge with room for about two answers
    inner = CountingApp()
    size = len(call(inner, map_url(""), HTTP_ACCEPT_ENCODING="gzip").body)
    app = PublicEdge(inner, max_bytes=size * 8 + size // 2)
    queries = ["", MAP_Q, "?category=burglary", "?category=assault", "?from=2024-02&to=2024-04",
               "?category=theft", "?from=2024-01&to=2024-01", "?category=robbery",
               "?from=2024-05&to=2024-05", "?category=vehicle_theft"]
    for q in queries:
        call(app, map_url(q), HTTP_ACCEPT_ENCODING="gzip")
    # then it never holds more than the budget, and the least recently used went first
    assert app._bytes <= app.max_bytes
    assert 0 < len(app._store) < len(queries)
    calls = inner.calls
    call(app, map_url(queries[-1]), HTTP_ACCEPT_ENCODING="gzip")
    assert inner.calls == calls
    call(app, map_url(queries[0]), HTTP_ACCEPT_ENCODING="gzip")
    assert inner.calls == calls + 1


def test_it_passes_a_request_to_django_when_its_checks_fail(edge, monkeypatch):
    # given a stored answer, and then a throttle store that fails
    app, inner = edge
    first = call(app, map_url())
    from public import api

    def broken(request):
        raise ConnectionError("cache down")

    monkeypatch.setattr(api, "throttled", broken)
    calls = inner.calls
    # when the edge cannot check, Django answers (here with its own error page, and logs it)
    answer = call(app, map_url())
    assert inner.calls == calls + 1
    assert first.status == 200 and answer.status == 500


# --- told of changes by the database (PostgreSQL LISTEN/NOTIFY) ----------------------------
POSTGRESQL_ONLY = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="LISTEN/NOTIFY is PostgreSQL's")


def poll(app, url: str, status: int, seconds: float = 5.0) -> int:
    """The status of `url` once it is `status` (a notification arrives after the commit)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        got = call(app, url).status
        if got == status or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


@pytest.fixture
def watched_edge(published):
    """An edge whose watch listens on the test database, with one answer stored (the
    tests using it are transactional: a change notifies listeners only when committed)."""
    watch = StateWatch.for_default_database()
    try:
        assert watch.wait_listening()
        app = PublicEdge(CountingApp(), watch=watch)
        assert call(app, map_url()).status == 200
        yield app, watch
    finally:
        watch.stop()


def withdraw_march(published) -> None:
    PublicRelease.objects.filter(agency=published.alpha, month=date(2024, 3, 1)).delete()


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_with_a_watch_it_asks_the_database_again_only_after_a_change(published, watched_edge):
    from django.test.utils import CaptureQueriesContext

    # given an edge whose watch listens, and an answer it has stored
    app, _ = watched_edge
    first = call(app, map_url())
    # then repeats are served without a single query
    with CaptureQueriesContext(connection) as queries:
        again = call(app, map_url())
    assert len(queries) == 0
    assert again.status == 200 and again.body == first.body
    # when a release is withdrawn (committed: the trigger notifies listeners)
    withdraw_march(published)
    # then its answer stops as soon as the notification is in
    assert poll(app, map_url(), 404) == 404
    assert call(app, map_url("")).status == 200
    # and switching the map off (a queryset update: no Django signal) stops all answers
    Agency.objects.filter(pk=published.alpha.pk).update(publishes_public_map=False)
    assert poll(app, map_url(""), 404) == 404


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_watch_that_lost_its_connection_misses_nothing_and_listens_again(published,
                                                                          watched_edge):
    # given a listening watch whose edge remembers the agency's state
    app, watch = watched_edge
    assert call(app, map_url()).status == 200
    # when its connection is killed and a release is withdrawn before it is back
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                       "application_name = 'public-state-watch' "
                       "AND datname = current_database()")
    withdraw_march(published)
    # then the withdrawn month is not served, and the watch listens again
    assert poll(app, map_url(), 404) == 404
    assert watch.wait_listening()
    assert call(app, map_url()).status == 404


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_watch_does_not_count_as_listening_while_a_trigger_is_disabled(published):
    import time

    # given the trigger that reports withdrawn releases is off
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE public_publicrelease "
                       "DISABLE TRIGGER public_release_state_changed")
    watch = StateWatch.for_default_database()
    try:
        time.sleep(1.5)
        # then the watch never claims to listen, so the edge asks on every request
        assert not watch.wait_listening(seconds=3)
    finally:
        watch.stop()
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE public_publicrelease "
                           "ENABLE TRIGGER public_release_state_changed")


@POSTGRESQL_ONLY
def test_without_a_listening_watch_it_asks_the_database_every_time(published):
    from django.test.utils import CaptureQueriesContext

    # given a watch that cannot connect
    watch = StateWatch({"host": "127.0.0.1", "port": 1, "dbname": "none",
                        "connect_timeout": 1})
    try:
        app = PublicEdge(CountingApp(), watch=watch)
        call(app, map_url())
        # then every request still checks the agency's state
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                assert call(app, map_url()).status == 200
            assert len(queries) == 1
        assert app.hits == 3
    finally:
        watch.stop()
