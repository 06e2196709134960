"""The OpenAPI schema documents every /api/v1/ route (DRF and public) with the status codes
it answers; a new route without its schema fails here.

The codes are checked both ways: each route's operations list them, and requests that
should get them (a bad or missing token, another agency's object, bad parameters) do get
them, as JSON of the documented shape.
"""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.test import APIClient

from tests.samples import GENERIC_CSV
from tests.test_api import api

METHODS = ("get", "post", "put", "patch", "delete")


def _regex_template(regex: str) -> str:
    """`(?P<name>...)` groups as `{name}`, anchors dropped."""
    out, i = [], 0
    while i < len(regex):
        match = re.compile(r"\(\?P<(\w+)>").match(regex, i)
        if match:
            depth, j = 1, match.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(regex[j], 0) if regex[j - 1] != "\\" else 0
                j += 1
            out.append("{%s}" % match.group(1))  # noqa: UP031 - braces in the output
            i = j
        else:
            out.append(regex[i])
            i += 1
    return "".join(out).lstrip("^").rstrip("$").replace("\\", "")


def _template(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))
    assert isinstance(pattern, RegexPattern)
    return _regex_template(pattern.regex.pattern)


def api_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple]:
    """(OpenAPI path, view callback) of every URL pattern under /api/v1/."""
    routes = []
    for entry in (resolver or get_resolver()).url_patterns:
        template = prefix + _template(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += api_routes(entry, template)
        elif isinstance(entry, URLPattern) and template.startswith("api/v1/"):
            # drf-spectacular names a `pk` path parameter `id`
            routes.append(("/" + template.replace("{pk}", "{id}"), entry.callback))
    return routes


def methods_of(callback) -> list[str]:
    view = getattr(callback, "cls", None)
    if view is None:  # a plain Django view of the public API: GET only
        return ["get"]
    return [m for m in METHODS if hasattr(view, m)]


def is_drf(callback) -> bool:
    return hasattr(callback, "cls")


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def operation(schema: dict, path: str, method: str = "get") -> dict:
    return schema["paths"][path][method]


def test_the_routes_are_found():
    paths = {path for path, _ in api_routes()}
    assert "/api/v1/agencies/{slug}/datasets/{id}/" in paths
    assert "/api/v1/public/{slug}/months/{month}/" in paths
    assert len(paths) >= 16


@pytest.mark.parametrize(("path", "callback"), api_routes(), ids=lambda v: str(v))
def test_every_api_route_is_documented_with_its_status_codes(schema, path, callback):
    assert path in schema["paths"], f"{path} is not in the OpenAPI schema"
    has_path_parameters = "{" in path
    for method in methods_of(callback):
        op = operation(schema, path, method)
        codes = set(op["responses"])
        assert codes & {"200", "201", "202"}, (path, method)
        assert "429" in codes, (path, method)  # throttled
        if has_path_parameters:
            assert "404" in codes, (path, method)  # another agency's, or unpublished
        if not is_drf(callback):
            assert op["security"] == [], path
            assert "304" in codes or not has_path_parameters, path
            continue
        assert {"401", "403"} <= codes, (path, method)
        assert op["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
        takes_input = "requestBody" in op or any(p["in"] == "query"
                                                 for p in op.get("parameters", []))
        if takes_input:
            assert "400" in codes, (path, method)


def test_the_schema_has_no_operation_without_a_route(schema):
    routes = {path for path, _ in api_routes()}
    documented = {path for path in schema["paths"] if path.startswith("/api/v1/")}
    assert documented == routes


def test_an_unacceptable_accept_header_gets_a_documented_406(world, schema):
    for path, method, url in _drf_urls(world):
        response = getattr(api(world, "anna"), method)(url, HTTP_ACCEPT="application/xml")
        assert response.status_code == 406, (url, method)
        assert "406" in operation(schema, path, method)["responses"]


def test_the_upload_body_is_documented_as_multipart_files(schema):
    body = operation(schema, "/api/v1/agencies/{slug}/datasets/", "post")["requestBody"]
    assert body["required"] is True
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["files"]
    assert form["properties"]["files"]["items"]["format"] == "binary"
    codes = operation(schema, "/api/v1/agencies/{slug}/datasets/", "post")["responses"]
    assert {"201", "400", "409", "413", "415"} <= set(codes)


def _drf_urls(world) -> list[tuple[str, str, str]]:
    """(schema path, method, URL of agency A's objects) of every DRF operation."""
    forecast = world.forecast
    ids = {"slug": "alpha", "id": None}
    by_path = {
        "/api/v1/agencies/{slug}/datasets/{id}/": world.dataset.pk,
        "/api/v1/agencies/{slug}/models/{id}/train/": forecast.model_id,
        "/api/v1/agencies/{slug}/runs/{id}/": forecast.run_id,
        "/api/v1/agencies/{slug}/forecasts/{id}/cells/": forecast.pk,
    }
    urls = []
    for path, callback in api_routes():
        if not is_drf(callback):
            continue
        url = path.replace("{slug}", ids["slug"])
        if "{id}" in path:
            url = url.replace("{id}", str(by_path[path]))
        urls += [(path, method, url) for method in methods_of(callback)]
    return urls


@pytest.mark.parametrize("authorization", [None, "Token bad", "Token " + "0" * 40, "Bearer x"])
def test_a_missing_or_bad_token_gets_a_documented_401(world, schema, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    for path, method, url in _drf_urls(world):
        response = getattr(client, method)(url)
        assert response.status_code == 401, (url, method, authorization)
        assert response["WWW-Authenticate"] == "Token"
        assert set(response.json()) == {"detail"}
        assert "401" in operation(schema, path, method)["responses"]


def test_another_agencys_objects_get_a_documented_404(world, schema):
    client = api(world, "bob")
    for path, method, url in _drf_urls(world):
        if "{" not in path:
            continue
        response = getattr(client, method)(url)
        assert response.status_code == 404, (url, method)
        assert set(response.json()) == {"detail"}
        assert "404" in operation(schema, path, method)["responses"]


@pytest.mark.parametrize(("path", "query"), [
    ("/api/v1/agencies/{slug}/incidents/", "limit=0"),
    ("/api/v1/agencies/{slug}/incidents/", "limit=1001"),
    ("/api/v1/agencies/{slug}/incidents/", "limit=99999999999999999999"),
    ("/api/v1/agencies/{slug}/incidents/", "offset=-1"),
    ("/api/v1/agencies/{slug}/incidents/", "offset=false"),
    ("/api/v1/agencies/{slug}/incidents/", "limit=1&limit=2"),
    ("/api/v1/agencies/{slug}/incidents/", "start="),
    ("/api/v1/agencies/{slug}/incidents/", "start=20190131"),
    ("/api/v1/agencies/{slug}/incidents/", "end=2019-01-31T25:00:00Z"),
    ("/api/v1/agencies/{slug}/incidents/", "end=2019-01-31T12:00:00%2B24:00"),
    ("/api/v1/agencies/{slug}/incidents/", "bbox=1,2,3"),
    ("/api/v1/agencies/{slug}/incidents/", "bbox=nan,1,2,3"),
    ("/api/v1/agencies/{slug}/incidents/", "category=%00"),
    ("/api/v1/agencies/{slug}/incidents/", "category=nope"),
    ("/api/v1/agencies/{slug}/incidents/", "category=burglary&category="),
    ("/api/v1/agencies/{slug}/datasets/", "offset=x"),
    ("/api/v1/agencies/{slug}/models/", "limit=-5"),
    ("/api/v1/agencies/{slug}/forecasts/", "limit=%20"),
])
def test_bad_parameters_get_a_documented_400(world, schema, path, query):
    world.dataset  # noqa: B018
    response = api(world, "anna").get(path.replace("{slug}", "alpha") + "?" + query)
    assert response.status_code == 400, query
    name = query.split("=")[0]
    assert name in response.json() or "%00" in query  # NUL: refused before the view
    assert "400" in operation(schema, path)["responses"]


@pytest.mark.parametrize("query", [{"note": "x" * 501}, {"note": "a\x00b"},
                                   {"coverage": ""}, {"coverage": "1_0"},
                                   {"purpose": ["analysis", "other"]}])
def test_the_cells_api_refuses_bad_parameters_with_400(world, schema, query):
    url = f"/api/v1/agencies/alpha/forecasts/{world.forecast.pk}/cells/"
    response = api(world, "victor").get(url, {"purpose": "analysis", **query})
    assert response.status_code == 400, query


@pytest.mark.parametrize("query", [
    "start=0001-01-01T00:00:00%2B05:00",  # before datetime's first instant in UTC
    "end=9999-12-31T23:59:59-05:00",  # after its last
    "start=2019-01-31T18:00:00&end=2100-01-01t00:00:00z",
    "start=2019-01-31T18:00:00.123456789%2B14:00",
    "bbox=-1e400,-90,1e400,90.5",
    "category=&limit=1000&offset=0",
])
def test_edge_values_of_the_incident_filters_are_served(world, query):
    world.dataset  # noqa: B018
    response = api(world, "anna").get(f"/api/v1/agencies/alpha/incidents/?{query}")
    assert response.status_code == 200, query


def test_a_re_upload_is_a_documented_409(world, django_capture_on_commit_callbacks):
    client = api(world, "anna")
    url = "/api/v1/agencies/alpha/datasets/"

    def upload():
        return client.post(url, {"files": [SimpleUploadedFile("x.csv", GENERIC_CSV.encode())]},
                           format="multipart")

    with django_capture_on_commit_callbacks(execute=True):
        first = upload()
    assert first.status_code == 201
    again = upload()
    assert again.status_code == 409
    assert again.json()["dataset"] == first.json()["id"]


def test_an_upload_over_the_limit_is_a_documented_413(world, settings):
    settings.IMPORT_MAX_BYTES = 10
    response = api(world, "anna").post(
        "/api/v1/agencies/alpha/datasets/",
        {"files": [SimpleUploadedFile("x.csv", GENERIC_CSV.encode())]}, format="multipart")
    assert response.status_code == 413
    assert "larger" in response.json()["detail"]


def test_an_upload_without_files_is_a_400(world):
    response = api(world, "anna").post("/api/v1/agencies/alpha/datasets/", {"format": ""},
                                       format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()


def test_unknown_api_urls_and_unpublished_public_data_are_json_404s(published, schema):
    client = APIClient()
    for url in ["/api/v1/nope/", "/api/v1/agencies/alpha/datasets/-1/",
                "/api/v1/public/alpha/months/2099-01/", "/api/v1/public/nobody/",
                "/api/v1/public/alpha/map/?category=nope"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json", url
        assert isinstance(response.json()["detail"], str), url
    assert "404" in operation(schema, "/api/v1/public/{slug}/months/{month}/")["responses"]


def test_other_pages_keep_their_html_404(world):
    response = world.client_for("anna").get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_public_api_answers_as_documented(published, schema):
    """Each public operation's 200 body has the documented top-level properties."""
    client = APIClient()
    components = schema["components"]["schemas"]
    for path, callback in api_routes():
        if is_drf(callback):
            continue
        url = path.replace("{slug}", "alpha").replace("{month}", "2024-02")
        response = client.get(url)
        assert response.status_code == 200, url
        ref = operation(schema, path)["responses"]["200"]["content"]["application/json"]
        body_schema = components[ref["schema"]["$ref"].rsplit("/", 1)[1]]
        body = json.loads(response.content)
        assert set(body_schema["required"]) <= set(body), url
        if "ETag" in response:
            again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
            assert again.status_code == 304, url
