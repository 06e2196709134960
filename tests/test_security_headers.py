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
    from portal.settings import _origin

    assert _origin("https://tiles.example.org/{z}/{x}/{y}.png") == ["https://tiles.example.org"]
    assert _origin("http://127.0.0.1:8089/{z}/{x}/{y}.png") == ["http://127.0.0.1:8089"]
    assert _origin("https://geo.example.org/search?format=json&q={q}") == [
        "https://geo.example.org"]
    assert _origin("") == []


@pytest.mark.parametrize("path", sorted(p.relative_to(TEMPLATES).as_posix()
                                        for p in TEMPLATES.rglob("*.html")))
def test_no_template_holds_inline_script_style_or_handlers(path):
    if path in STANDALONE:
        return
    text = (TEMPLATES / path).read_text()
    assert 'style="' not in text and "<style" not in text, path
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path  # json_script renders
    assert not re.search(r"\son[a-z]+=", text), path
