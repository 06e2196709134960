"""Finding a place on the forecast map: the reference areas' names and the agency's own
recorded incident addresses (agency data, shown to its members; the search is recorded)."""

from __future__ import annotations

from typing import Any

from agencies.models import Agency
from predictions.bridge import (
    Places,
    area_extent,
    name_matches,
    recorded_addresses,
    reference_places,
)

MAX_QUERY = 100


def area_matches(places: Places, query: str, limit: int = 5) -> list[dict[str, Any]]:
    """Reference areas whose name holds the query, those starting with it first."""
    return [{"name": places.names[i], "kind": "area",
             **area_extent(places.tree.geometries[i])}
            for i in name_matches(places.names, query, limit)]


def find(agency: Agency, query: str) -> dict[str, Any]:
    """Areas first, then recorded addresses; the query is cut to MAX_QUERY characters."""
    q = " ".join(query.split())[:MAX_QUERY]
    places = reference_places(agency)
    areas = area_matches(places, q) if places else []
    addresses = recorded_addresses(agency).search(q) if q else []
    return {"query": q, "results": areas + addresses}
