"""The base map every page draws: django-leaflet's LEAFLET_CONFIG, read in one place."""

from __future__ import annotations

from django.conf import settings


def tiles() -> dict[str, str]:
    """``url`` (a tile URL template, "" for none) and ``attribution`` for the page's map."""
    config = getattr(settings, "LEAFLET_CONFIG", {})
    url = config.get("TILES") or ""
    if isinstance(url, list):  # django-leaflet also takes [(name, url, options), ...]
        url = url[0][1] if url else ""
    return {"url": url, "attribution": config.get("ATTRIBUTION_PREFIX") or ""}
