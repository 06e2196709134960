"""The base map every page draws: django-leaflet's LEAFLET_CONFIG, read in one place, and
the Content-Security-Policy sources a map page needs for it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings


def tiles() -> dict[str, str]:
    """``url`` (a tile URL template, "" for none) and ``attribution`` for the page's map."""
    config = getattr(settings, "LEAFLET_CONFIG", {})
    url = config.get("TILES") or ""
    if isinstance(url, list):  # django-leaflet also takes [(name, url, options), ...]
        url = url[0][1] if url else ""
    return {"url": url, "attribution": config.get("ATTRIBUTION_PREFIX") or ""}


def origin(url: str) -> list[str]:
    """The scheme and host of a URL template (tiles' `{s}` subdomains as `*.`), as a CSP
    source; [] for none."""
    wildcard = "{s}." in url
    parts = urlsplit(url.replace("{s}.", "").replace("{z}", "0").replace("{x}", "0")
                     .replace("{y}", "0").replace("{q}", ""))
    if not (parts.scheme and parts.netloc):
        return []
    return [f"{parts.scheme}://{'*.' if wildcard else ''}{parts.netloc}"]


def allow(response, **sources: list[str]):
    """Add sources to the response's Content-Security-Policy (django-csp), e.g.
    ``allow(response, img_src=[...])``."""
    update = dict(getattr(response, "_csp_update", None) or {})
    for directive, values in sources.items():
        if values:
            name = directive.replace("_", "-")
            update[name] = [*update.get(name, []), *values]
    if update:
        response._csp_update = update
    return response


def draws_map(view: Callable) -> Callable:
    """A view whose page draws the base map: its policy admits the tile server's images."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return allow(view(request, *args, **kwargs), img_src=origin(tiles()["url"]))

    return wrapper
