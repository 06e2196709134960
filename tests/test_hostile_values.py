"""Every route, sent the red team's hostile values, answers without a server error (#19).

Hostile query values on every parameter name the portal reads, hostile ids in every URL,
hostile form fields on every POST, deep and broken JSON on every API call: the answer may
be 400, 403, 404 or a redirect, never a 500 (the test client raises a view's exception)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.test_forecast_viewer import with_purpose
from tests.test_url_matrix import MATRIX

HOSTILE = ["nan", "NaN", "inf", "-inf", "1e308", "-1", "0", "9" * 30, "abc", "2024-13-45",
           "0000-00-00", "\x00", "x" * 5000, "[[[[]]]]", "' OR 1=1 --", "=cmd|'/C calc'!A0",
           "2019-02-30T25:61:00", "-2147483649", "1.5", "  ", "%", "../../etc/passwd"]
PARAMS = ["coverage", "cells", "date", "model", "category", "from", "to", "area", "q",
          "start", "end", "limit", "offset", "page", "format", "download", "month", "status",
          "purpose", "note", "action", "user", "agency", "outcome", "since", "until", "seq",
          "cursor", "fmt", "ordering", "layer", "by", "days", "horizon", "id", "next",
          "boundary_file", "clear_boundary", "config", "enforcement_reason", "mapping",
          "preset", "save_preset_as", "start_month", "train_on_enforcement_categories",
          "truth", "type", "boundary_geojson", "name", "from_day", "to_day", "from_seq",
          "to_seq", "selection", "period", "as_of"]
HUGE_ID = 2**63  # past PostgreSQL's bigint
SKIP = {"logout", "admin:index"}  # signs the client out / the admin's own pages


def _client(world):
    world.forecast  # noqa: B018 - a forecast, a dataset and a model to point at
    from tests.public_samples import publish_alpha

    publish_alpha(world)
    return with_purpose(world, "alice")


def _url(world, name: str) -> str:
    return reverse(name, kwargs=MATRIX[name].kwargs(world))


def _ok(response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code)


ROUTES = sorted(n for n in MATRIX if n not in SKIP)


def test_hostile_query_values_never_give_a_server_error(world):
    client = _client(world)
    # every URL first (a POST below may delete what a later URL names), reads before writes
    urls = sorted((MATRIX[n].method != "get", n, _url(world, n)) for n in ROUTES)
    for _, url_name, url in urls:  # one world for every route: building it is the slow part
        method = getattr(client, MATRIX[url_name].method)
        for value in HOSTILE:  # every parameter at once
            _ok(method(url, dict.fromkeys(PARAMS, value)), f"{url} all={value!r}")
        for k, name in enumerate(PARAMS):  # each on its own, two values each
            for value in (HOSTILE[k % len(HOSTILE)], HOSTILE[(k + 7) % len(HOSTILE)]):
                _ok(method(url, {name: value}), f"{url} {name}={value!r}")


def test_unknown_and_huge_ids_are_not_found(world):
    client = _client(world)
    every = {n: MATRIX[n].kwargs(world) for n in ROUTES}
    for url_name, kwargs in every.items():
        for key in [k for k, v in kwargs.items() if isinstance(v, int)]:
            for value in (0, 999_999, HUGE_ID):
                url = reverse(url_name, kwargs={**kwargs, key: value})
                response = getattr(client, MATRIX[url_name].method)(url)
                _ok(response, url)
                assert response.status_code in (302, 400, 403, 404), (url, response.status_code)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("body", [DEEP, '{"a": ' * 5000 + "1" + "}" * 5000, "{", "\xff\xfe",
                                  '{"mapping": {"id": NaN}}', "[" + "1," * 200_000 + "1]"])
def test_api_bodies_deep_broken_or_huge_get_a_clear_error(world, body):
    from tests.test_api import api

    world.forecast  # noqa: B018
    client = api(world, "anna")
    for name, case in MATRIX.items():
        if not name.startswith("api-"):
            continue
        url = _url(world, name)
        response = client.generic(case.method.upper() if case.method != "get" else "POST",
                                  url, body.encode("utf-8", "surrogatepass"),
                                  content_type="application/json")
        _ok(response, f"{name} {body[:20]!r}")


def test_the_hostile_list_covers_every_parameter_a_view_reads():
    """A parameter name read anywhere (request.GET/POST/query_params) is in PARAMS."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    read = set()
    for path in root.glob("[a-z]*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text()
        read |= set(re.findall(r"(?:GET|POST|query_params|data)\.get\(\s*[\"']([a-z_]+)[\"']",
                               text))
    assert read - set(PARAMS) == set(), read - set(PARAMS)
