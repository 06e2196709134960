"""Validators for agency settings."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError

MIN_CELL_SIZE_M = 50
MAX_CELL_SIZE_M = 1000


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as 'America/Chicago'.")


def validate_boundary(value: object) -> None:
    """A GeoJSON Polygon or MultiPolygon (bare, or as a Feature / FeatureCollection of one)."""
    geometry = boundary_geometry(value)
    if geometry is None:
        raise ValidationError(
            "The boundary must be a GeoJSON Polygon or MultiPolygon "
            "(or a Feature or one-feature FeatureCollection holding one)."
        )
    rings = geometry["coordinates"]
    polygons = [rings] if geometry["type"] == "Polygon" else rings
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ValidationError("The boundary has an empty polygon.")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValidationError("Each boundary ring needs at least four positions.")
            for position in ring:
                if (
                    not isinstance(position, list | tuple)
                    or len(position) < 2
                    or not all(isinstance(c, int | float) for c in position[:2])
                ):
                    raise ValidationError("Boundary positions must be [longitude, latitude].")
                lon, lat = position[0], position[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValidationError(
                        f"Boundary position {lon}, {lat} is not a WGS84 longitude/latitude."
                    )


def boundary_geometry(value: Any) -> dict | None:
    """The Polygon/MultiPolygon geometry inside a GeoJSON value, or None."""
    if not isinstance(value, dict):
        return None
    if value.get("type") == "FeatureCollection":
        features = value.get("features") or []
        if len(features) != 1:
            return None
        value = features[0]
    if value.get("type") == "Feature":
        value = value.get("geometry") or {}
    if value.get("type") in ("Polygon", "MultiPolygon") and isinstance(
        value.get("coordinates"), list
    ):
        return {"type": value["type"], "coordinates": value["coordinates"]}
    return None
