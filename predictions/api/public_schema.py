"""The public API (public/api.py, plain Django views) in the OpenAPI schema.

drf-spectacular only sees DRF views; `add_public_api` (a SPECTACULAR_SETTINGS
POSTPROCESSING_HOOKS entry) adds the path items of /api/v1/public/... with their
parameters, JSON bodies and every status they answer: 200, 304 (revalidated with the
ETag), 404 (the map is not published, or the month, category or area is not) and 429
(throttled per client address). No authentication: `security: []`.
"""

from __future__ import annotations

import copy
from typing import Any

from predictions.api.schema import COMPONENTS, RETRY_AFTER, error_response, ref

PREFIX = "/api/v1/public"
TAG = "public"

MONTH_KEY = r"^\d{4}-\d{2}$"


def _string(**more) -> dict:
    return {"type": "string", **more}


def _int(**more) -> dict:
    return {"type": "integer", **more}


def _number(**more) -> dict:
    return {"type": "number", **more}


def _object(properties: dict, required: list[str] | None = None, **more) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required, **more}


def _array(items: dict, **more) -> dict:
    return {"type": "array", "items": items, **more}


GEOMETRY = _object({"type": _string(), "coordinates": _array({})},
                   description="A GeoJSON geometry (lon/lat).")
PERIOD = {"from": _string(pattern=MONTH_KEY), "to": _string(pattern=MONTH_KEY)}


def _features(properties: dict) -> dict:
    """The members of a FeatureCollection whose features carry these properties."""
    return {
        "type": _string(enum=["FeatureCollection"]),
        "features": _array(_object({
            "type": _string(enum=["Feature"]), "id": _string(), "geometry": GEOMETRY,
            "properties": _object(properties),
        })),
    }


SCHEMAS: dict[str, dict] = {
    "PublicAgencies": _object({"agencies": _array(_object({"slug": _string(),
                                                           "name": _string()}))}),
    "PublicMethod": _object({
        "mechanism": _string(),
        "epsilon_per_month": _number(),
        "epsilon_spent": _number(),
        "total_budget": _number(),
        "noise_sd": _number(),
        "margin_90": _int(),
        "delay_days": _int(),
        "cell_size_m": _number(),
        "small_values_below": _int(),
        "sensitive_categories": _array(_string()),
        "sensitive_level": _string(),
    }, description="How the published values are made: the privacy mechanism and budget."),
    "PublicMeta": _object({
        "agency": _object({"slug": _string(), "name": _string()}),
        "months": _array(_string(pattern=MONTH_KEY), description="Published months."),
        "categories": _array(_object({"code": _string(), "label": _string(),
                                      "level": _string(enum=["cell", "city"])})),
        "areas": _int(description="Cells of the public grid."),
        "method": ref("PublicMethod"),
    }),
    "PublicSummary": _object({
        "category": _string(),
        "level": _string(enum=["cell", "city"]),
        **PERIOD,
        "city_total": _int(),
        "city_total_shown": _string(),
        "last_year_total": _int(nullable=True),
        "last_year_shown": _string(nullable=True),
        "margin_90_per_value": _int(),
    }),
    "PublicMap": _object({
        **_features({
            "area": _string(), "value": _int(), "shown": _string(), "lat": _number(),
            "lon": _number(), "place": _string(),
        }),
        "category": _string(),
        "level": _string(enum=["cell", "city"]),
        **PERIOD,
        "summary": ref("PublicSummary"),
    }, description="The published values of the selection per cell (no cells for a "
                   "category published city-wide only), with the city's totals."),
    "PublicTrend": _object({
        "category": _string(),
        "area": _string(),
        "name": _string(),
        "points": _array(_object({
            "month": _string(pattern=MONTH_KEY),
            "value": _int(),
            "shown": _string(),
            "last_year": _int(nullable=True),
        })),
    }),
    "PublicPlaces": _object({
        **_features({
            "area": _string(), "name": _string(), "cells": _int(),
            "value": _int(nullable=True), "shown": _string(),
            "margin_90": _int(nullable=True), "lat": _number(), "lon": _number(),
        }),
        "category": _string(),
        "level": _string(enum=["cell", "city", "none"]),
        **PERIOD,
    }, description="The named areas (none without a reference layer) with their values."),
    "PublicSearch": _object({
        "query": _string(),
        "results": _array(_object({
            "id": _string(), "name": _string(), "lat": _number(), "lon": _number(),
            "bounds": _array(_array(_number())), "cells": _int(),
            "kind": _string(),
        })),
    }),
    "PublicScorecard": _object({
        "agency": _object({"slug": _string(), "name": _string()}),
        "min_events": _int(description="A month whose scored windows hold fewer incidents "
                                       "shows no rate (`suppressed`)."),
        "models": _array(_object({
            "model": _string(), "target": _string(), "horizon_days": _int(),
            "method": _string(),
            "months": _array(_object({
                "month": _string(pattern=MONTH_KEY, description="Month of the windows."),
                "issued": _int(description="Forecasts issued for windows in the month."),
                "scored": _int(description="Of them, scored (their window closed)."),
                "coverage": _number(nullable=True,
                                    description="Mean share of the area flagged as viewed."),
                "hit_rate": _number(nullable=True),
                "pai": _number(nullable=True),
                "baseline_hit_rate": _number(nullable=True),
                "baseline_pai": _number(nullable=True),
                "suppressed": {"type": "boolean",
                               "description": "Too few incidents: no rate is shown."},
                "exposure": _array(_object({
                    "name": _string(description="A grouping of residents."),
                    "groups": _array(_object({
                        "group": _string(),
                        "forecast": _number(nullable=True,
                                            description="Mean exposure ratio (1 = parity)."),
                        "baseline": _number(nullable=True),
                    })),
                })),
            })),
        })),
    }, description="How the agency's forecasts did once their windows closed, per model and "
                   "month, against the baseline: aggregates only."),
    "PublicMonth": _object({
        "month": _string(pattern=MONTH_KEY),
        "areas": _array(_string()),
        "counts": {"type": "object", "additionalProperties": _array(_int()),
                   "description": "Per category, the value of each area (in `areas` order)."},
        "city_counts": {"type": "object", "additionalProperties": _int(),
                        "description": "Categories published city-wide only."},
        "epsilon": _number(),
        "mechanism": _string(),
    }),
}


def _query(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": _string(**schema)}


SLUG = {"name": "slug", "in": "path", "required": True, "example": "riverton",
        "schema": _string(pattern=r"^[-a-zA-Z0-9_]+$"),
        "description": "The agency (GET /api/v1/public/ lists those publishing)."}
MONTH = {"name": "month", "in": "path", "required": True, "example": "2025-06",
         "schema": _string(pattern=MONTH_KEY), "description": "A published month."}
CATEGORY = _query("category", "A published category code (default: the first); else 404.",
                  example="burglary")
FROM = _query("from", "First month, YYYY-MM (default: 11 months before `to`); an "
                      "unpublished month gets 404.", pattern=r"^(\d{4}-\d{2})?$")
TO = _query("to", "Last month, YYYY-MM (default: the newest published).",
            pattern=r"^(\d{4}-\d{2})?$")

# If-None-Match is not a declared parameter: it is compared before the query parameters are
# read (`*` answers 304 even for a month that is not published), and any other value that
# names no current copy is simply no match; clients send back the ETag they were given.
REVALIDATE = ("Not modified: the request's If-None-Match names the current ETag (send back "
              "the ETag of the copy you hold to revalidate it).")
CACHE_HEADERS = {
    "ETag": {"description": "Names this state of the releases; send it as If-None-Match.",
             "required": True, "schema": _string()},
    "Cache-Control": {"description": "`public, no-cache`: revalidate before each use.",
                      "required": True, "schema": _string()},
}

# (path under PREFIX, operation id, summary, query parameters, body schema, cached)
OPERATIONS: list[tuple[str, str, str, list[dict], str, bool]] = [
    ("/", "public_agencies", "The agencies publishing a map now.", [], "PublicAgencies", False),
    ("/{slug}/", "public_meta", "An agency's published months, categories and method.", [],
     "PublicMeta", True),
    ("/{slug}/map/", "public_map", "Published values per cell for a category and months.",
     [CATEGORY, FROM, TO], "PublicMap", True),
    ("/{slug}/trend/", "public_trend", "Monthly values of the city, a cell or a named area.",
     [CATEGORY, _query("area", "A cell (c12) or named area (p3); default: the whole city; "
                               "an unknown one gets 404."), FROM, TO], "PublicTrend", True),
    ("/{slug}/places/", "public_places", "The named areas with their values.",
     [CATEGORY, FROM, TO], "PublicPlaces", True),
    ("/{slug}/search/", "public_search", "Named areas whose name holds `q` (names only).",
     [_query("q", "Text to look for (the first 100 characters are used).")],
     "PublicSearch", True),
    ("/{slug}/months/{month}/", "public_month", "One published month: every area's values.",
     [], "PublicMonth", True),
    ("/{slug}/scorecard/", "public_scorecard", "How the agency's forecasts did, per month, "
     "against the baseline (any agency, published map or not).", [], "PublicScorecard",
     True),
]
NOT_AN_AGENCY = {"public_scorecard": "No agency has this address."}


def public_paths() -> dict[str, dict]:
    paths = {}
    for sub, operation_id, summary, query, body, cached in OPERATIONS:
        parameters = [p for p in (SLUG, MONTH) if f"{{{p['name']}}}" in sub] + query
        responses: dict[str, Any] = {
            "200": {"description": summary,
                    "content": {"application/json": {"schema": ref(body)}}},
        }
        if cached:
            responses["200"]["headers"] = CACHE_HEADERS
            responses["304"] = {"description": REVALIDATE, "headers": CACHE_HEADERS}
            responses["404"] = error_response(
                "The agency publishes no map, or the month, category or area asked for is "
                "not published (or the month range is empty).")
        if operation_id in NOT_AN_AGENCY:
            responses["404"] = error_response(NOT_AN_AGENCY[operation_id])
        responses["429"] = error_response("Too many requests from this address.",
                                          headers=RETRY_AFTER)
        paths[PREFIX + sub] = {"get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": [TAG],
            "security": [],
            "parameters": copy.deepcopy(parameters),
            "responses": copy.deepcopy(responses),
        }}
    return paths


def add_public_api(result: dict, generator=None, request=None, public=None) -> dict:
    """POSTPROCESSING_HOOKS entry: the public API's paths and their schemas."""
    result.setdefault("paths", {}).update(public_paths())
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in {**COMPONENTS, **SCHEMAS}.items():
        schemas.setdefault(name, copy.deepcopy(schema))
    result.setdefault("tags", [])
    if not any(t.get("name") == TAG for t in result["tags"]):
        result["tags"].append({"name": TAG, "description": "The public map's data: no login, "
                                                           "published releases only."})
    return result
