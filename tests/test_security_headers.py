"""Content-Security-Policy (no inline script or style), Referrer-Policy, Permissions-Policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# a downloaded, self-contained file (served as an attachment, opened from disk: no policy)
STANDALONE = {"predictions/governance_file.html"}


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/public/"])
@pytest.mark.django_db
def test_every_page_carries_the_policy_without_inline_code(client, url):
    response = client.get(url)
    policy = dict(d.strip().split(" ", 1) for d in
                  response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert "geolocation=()" in response["Permissions-Policy"]


def test_the_policy_admits_the_tile_server_and_the_geocoder():
    from common.maps import origin

    assert origin("https://tiles.example.org/{z}/{x}/{y}.png") == ["https://tiles.example.org"]
    assert origin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == [
        "https://*.tile.example.org"]
    assert origin("http://127.0.0.1:8089/{z}/{x}/{y}.png") == ["http://127.0.0.1:8089"]
    assert origin("https://geo.example.org/search?format=json&q={q}") == [
        "https://geo.example.org"]
    assert origin("") == []


@pytest.mark.django_db
def test_a_map_page_admits_its_tile_server_and_geocoder_and_no_other_page_does(
        published, settings):
    settings.LEAFLET_CONFIG = {"TILES": "https://tiles.example.org/{z}/{x}/{y}.png"}
    settings.PUBLIC_GEOCODER_URL = "https://geo.example.org/search?q={q}"
    from django.core.cache import cache

    cache.clear()
    client = published.client_for("anonymous")
    policy = client.get("/public/alpha/")["Content-Security-Policy"]
    assert "img-src 'self' data: https://tiles.example.org" in policy
    assert "connect-src 'self' https://geo.example.org" in policy
    other = client.get("/public/alpha/method/")["Content-Security-Policy"]
    assert "tiles.example.org" not in other and "geo.example.org" not in other


@pytest.mark.parametrize("path", sorted(p.relative_to(TEMPLATES).as_posix()
                                        for p in TEMPLATES.rglob("*.html")))
def test_no_template_holds_inline_script_style_or_handlers(path):
    if path in STANDALONE:
        return
    text = (TEMPLATES / path).read_text()
    assert 'style="' not in text and "<style" not in text, path
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path  # json_script renders
    assert not re.search(r"\son[a-z]+=", text), path


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["query", "form", "json"])
def test_a_nul_character_in_a_parameter_is_refused_with_400(client, how):
    if how == "query":
        response = client.get("/public/", {"q": "a\x00b"})
    elif how == "form":
        response = client.post("/accounts/login/", "username=a%00&password=b",
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.post("/api/v1/agencies/", '{"name": "a\\u0000"}',
                               content_type="application/json")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
