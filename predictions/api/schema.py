"""The OpenAPI schema of the REST API: every status code an operation can answer.

drf-spectacular documents the success response of each view; `PortalAutoSchema` adds the
answers every API view can give besides, from what the view is configured with:

- 401 (with `WWW-Authenticate: Token`) and 403, when the view needs a signed-in caller;
- 404 for a path with parameters (another agency's objects do not exist);
- 400 when the operation takes query parameters or a body, 415 when it takes a body;
- 406 when the Accept header allows none of the types it answers with;
- 429 (with `Retry-After`) when the view is throttled.

Error bodies are `Error` ({"detail": ...}) or `ValidationError` (a message per parameter
or field). tests/test_api_schema.py checks every /api/v1/ route against the schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

ERROR = {
    "type": "object",
    "description": "An error, explained in `detail`.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "A bad request: a message (or a list of them) per query parameter or "
                   "field, or `detail` for the request as a whole.",
    "additionalProperties": {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    },
}
CONFLICT = {
    "type": "object",
    "description": "Refused: the request conflicts with the resource's state (`detail`); "
                   "for a re-upload, `dataset` is the existing dataset's id.",
    "properties": {"detail": {"type": "string"}, "dataset": {"type": "integer"}},
    "required": ["detail"],
}
COMPONENTS = {"Error": ERROR, "ValidationError": VALIDATION_ERROR, "Conflict": CONFLICT}

# Path parameter examples: the demo agency and its first objects (`make demo`), so that the
# documentation's "Try it out" (and the fuzz run, tests/schemathesis_run.py) start from data.
PATH_EXAMPLES = {"slug": "riverton", "id": 1}
# What the URL converters match (<slug:slug>, <int:pk>): anything else is no route (404).
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "slug": {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$"},
    "id": {"type": "integer", "minimum": 0},
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer"}}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def error_response(description: str, schema: str = "Error", headers: dict | None = None) -> dict:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ref(schema)}},
    }
    if headers:
        response["headers"] = headers
    return response


def standard_errors(*, query: bool, body: bool, path: bool, auth: bool,
                    throttled: bool) -> dict[str, dict]:
    """The error answers of an operation with these traits, by status code."""
    errors = {}
    if query or body:
        errors["400"] = error_response("Bad query parameters or body.", "ValidationError")
    if auth:
        errors["401"] = error_response(
            "No credentials, or a bad token.",
            headers={"WWW-Authenticate": {"description": "The scheme to use: `Token`.",
                                          "required": True, "schema": {"type": "string"}}},
        )
        errors["403"] = error_response(
            "Your role in the agency does not allow this (or, with a session, no CSRF token)."
        )
    errors["406"] = error_response("The Accept header allows no type this operation answers.")
    if path:
        errors["404"] = error_response(
            "No such object, or not one of your agencies' (they do not exist for you)."
        )
    if body:
        errors["415"] = error_response("The body's content type is not accepted.")
    if throttled:
        errors["429"] = error_response("Too many requests.", headers=RETRY_AFTER)
    return errors


class PortalAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for name, schema in COMPONENTS.items():
            registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name,
                                  schema=schema))
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            name = parameter["name"]
            if parameter.get("in") == "path" and name in PATH_SCHEMAS:
                if parameter.get("schema", {}).get("type") == PATH_SCHEMAS[name]["type"]:
                    parameter["schema"] = {**parameter["schema"], **PATH_SCHEMAS[name]}
                parameter.setdefault("example", PATH_EXAMPLES[name])
        body = operation.get("requestBody")
        if body and any(media.get("schema", {}).get("required")
                        for media in body.get("content", {}).values()):
            body["required"] = True  # a body whose schema names required fields
        view = self.view
        errors = standard_errors(
            query=any(p.get("in") == "query" for p in parameters),
            body=body is not None,
            path=any(p.get("in") == "path" for p in parameters),
            auth=not all(isinstance(p, AllowAny) for p in view.get_permissions()),
            throttled=bool(view.get_throttles()),
        )
        responses = operation["responses"]
        for code, response in errors.items():
            responses.setdefault(code, response)
        operation["responses"] = dict(sorted(responses.items()))
        return operation
