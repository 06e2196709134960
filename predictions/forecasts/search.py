"""Finding a place on the forecast map: the reference areas' names and the agency's own
recorded incident addresses (agency data, shown to its members; the search is recorded)."""

from __future__ import annotations

from typing import Any

from agencies.models import Agency
from predictions.bridge import Places, fold_text, recorded_addresses, reference_places

MAX_QUERY = 100


def area_matches(places: Places, query: str, limit: int = 5) -> list[dict[str, Any]]:
    """Reference areas whose name holds the query, those starting with it first."""
    q = fold_text(query)
    if not q:
        return []
    hits = sorted((not fold_text(n).startswith(q), fold_text(n), i)
                  for i, n in enumerate(places.names) if q in fold_text(n))
    found = []
    for _, _, i in hits[:limit]:
        geom = places.tree.geometries[i]
        inside = geom.representative_point()
        w, s, e, n = geom.bounds
        found.append({"name": places.names[i], "kind": "area", "lat": round(inside.y, 5),
                      "lon": round(inside.x, 5),
                      "bounds": [[round(s, 5), round(w, 5)], [round(n, 5), round(e, 5)]]})
    return found


def find(agency: Agency, query: str) -> dict[str, Any]:
    """Areas first, then recorded addresses; the query is cut to MAX_QUERY characters."""
    q = " ".join(query.split())[:MAX_QUERY]
    places = reference_places(agency)
    areas = area_matches(places, q) if places else []
    addresses = recorded_addresses(agency).search(q) if q else []
    return {"query": q, "results": areas + addresses}
