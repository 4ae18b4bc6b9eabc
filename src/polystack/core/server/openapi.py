"""The OpenAPI document as the server really answers: 400 (not 422) in OpenAI's error body, SSE where streamed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ErrorResponse",
    "description": "OpenAI's error body; `param` names the offending field.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
SSE_CONTENT = {
    "schema": {"type": "string", "description": "Server-sent events: `data: <chunk JSON>`, then `data: [DONE]`."}
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def openapi_as_served(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of FastAPI's document with the error responses and stream media types the server really sends."""
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["ErrorResponse"] = ERROR_SCHEMA
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _METHODS:
                _fix_operation(operation, components)
    return schema


def _fix_operation(operation: dict[str, Any], components: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    error = {"content": {"application/json": {"schema": ERROR_REF}}}
    if operation.get("parameters") or operation.get("requestBody"):
        responses["400"] = {"description": "Invalid request: the error's `param` names the field.", **error}
    responses["4XX"] = {"description": "Client error (not found, conflict, too large, ...).", **error}
    if _streams(operation, components):
        success = responses.setdefault("200", {"description": "Successful Response"})
        success.setdefault("content", {})["text/event-stream"] = SSE_CONTENT


def _streams(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether the request body has a `stream` flag: then the answer is SSE when it is true."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        body = components.get(ref.rsplit("/", 1)[-1], {})
    return "stream" in body.get("properties", {})


def install_openapi(app: Any) -> None:
    """Make `app.openapi()` (and /openapi.json) return the document as served, built once."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if getattr(app.state, "openapi_as_served", None) is None:
            app.state.openapi_as_served = openapi_as_served(generate())
        return app.state.openapi_as_served  # type: ignore[no-any-return]

    app.openapi = openapi
