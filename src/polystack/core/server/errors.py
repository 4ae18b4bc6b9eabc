"""Maps every exception to the OpenAI error body with the right status; never a stack trace."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.errors import PolystackError, error_body_for_status
from polystack.core.config import location
from polystack.core.secrets import public_message
from polystack.core.server.replies import WatchedSend

logger = logging.getLogger("polystack.server")


# union members add their type as a path element ('str', 'list[int]', 'function-after[...]'); not field names
_TYPE_TAG = re.compile(r"^(str|int|float|bool|bytes|none|list|dict|[a-z]+(-[a-z]+)*\[.*\]|(function|json)-.*)$")
# errors that only say "this union member has another type": the error of the member that fits says more
_MISMATCH = frozenset({"string_type", "int_type", "int_parsing", "float_type", "float_parsing", "bool_type",
                       "bool_parsing", "list_type", "dict_type", "model_type", "model_attributes_type",
                       "literal_error", "none_required", "is_instance_of", "string_sub_type"})


def validation_message(errors: list[Any]) -> tuple[str, str | None]:
    """A readable message naming the first bad field, and that field as the `param`."""
    first = errors[0]
    field = _clean_loc(first.get("loc", ()))[:1]
    first = next((e for e in errors if e.get("type") not in _MISMATCH and _clean_loc(e.get("loc", ()))[:1] == field),
                 first)
    loc = _clean_loc(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON.", None
    if first.get("type") == "missing" and not loc:
        return "The request body is missing.", None
    param = location(loc) if loc else None
    message = first.get("msg", "invalid value")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if param and first.get("type") == "missing":
        return f"Missing required parameter: '{param}'.", param
    return (f"Invalid value for '{param}': {message}." if param else f"Invalid request: {message}."), param


def _clean_loc(loc: Any) -> tuple[int | str, ...]:
    loc = tuple(loc)
    if loc and loc[0] in ("query", "path", "header", "cookie"):  # where FastAPI found it; OpenAI names the field
        loc = loc[1:]
    return tuple(p for p in loc if p != "body" and not (isinstance(p, str) and _TYPE_TAG.match(p)))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (Starlette's 405 names only the first route's)."""
    path = get_route_path(request.scope)
    table: list[tuple[re.Pattern[str], str]] = getattr(request.app.state, "route_patterns", [])
    return sorted({method for pattern, method in table if pattern.match(path)})


def route_patterns(routes: list[tuple[str, str]]) -> list[tuple[re.Pattern[str], str]]:
    """(path, method) pairs as (compiled path pattern, method), the way Starlette matches paths."""
    return [(compile_path(path)[0], method) for path, method in routes]


def polystack_error_response(exc: PolystackError) -> JSONResponse:
    """A PolystackError as its status and OpenAI's error body, with no secret in the message."""
    if exc.status_code >= 500:
        logger.warning("%s: %s", type(exc).__name__, exc.message)
    body = exc.to_body()
    body["error"]["message"] = public_message(exc.message)  # no secret, file path or database address
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def invalid_request_response(errors: list[Any]) -> JSONResponse:
    """A 400 naming the first bad field of a request that failed validation."""
    message, param = validation_message(errors)
    body = error_body_for_status(400, message, param)
    body["error"]["code"] = "invalid_request"
    return JSONResponse(body, status_code=400)


def invalid_inside_response(exc: ValidationError) -> JSONResponse:
    """A model validated inside a handler from part of the request (an API whose types are looser than what
    its implementation checks): the caller's input, so a 400 naming the field, logged in case it is not."""
    logger.warning("validation error inside a handler, answered 400", exc_info=exc)
    return invalid_request_response(list(exc.errors()))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PolystackError)
    async def polystack_error(_: Request, exc: PolystackError) -> JSONResponse:
        return polystack_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request_response(list(exc.errors()))

    @app.exception_handler(ValidationError)
    async def invalid_inside(_: Request, exc: ValidationError) -> JSONResponse:
        return invalid_inside_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 404 and message == "Not Found":
            message = "Unknown route; GET /v1/inspect/routes lists the served ones."
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
            message = f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}."
        body = error_body_for_status(exc.status_code, message, getattr(exc, "param", None))
        body["error"]["code"] = getattr(exc, "code", None)
        return JSONResponse(body, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(error_body_for_status(500, "Internal server error."), status_code=500)


class UnhandledErrorMiddleware:
    """Pure ASGI, outermost: an unexpected exception becomes one logged 500 in OpenAI's shape, and is not re-raised.

    Starlette's ServerErrorMiddleware re-raises after answering, so uvicorn logs the traceback a second
    time and closes the connection, dropping the client's keep-alive for one bad request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)

        try:
            await self.app(scope, receive, watched)
        except Exception:  # the one place that turns a bug into a plain 500
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if watched.started:
                return  # the response is under way; ending it here is all that is left to do
            response = JSONResponse(error_body_for_status(500, "Internal server error."), status_code=500)
            await response(scope, receive, send)
