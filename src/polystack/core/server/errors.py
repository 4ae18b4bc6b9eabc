"""Maps every exception to the OpenAI error body with the right status; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from polystack.apis.errors import PolystackError, error_body_for_status
from polystack.core.config import location
from polystack.core.secrets import public_message

logger = logging.getLogger("polystack.server")


def validation_message(errors: list[Any]) -> tuple[str, str | None]:
    """A readable message naming the first bad field, and that field as the `param`."""
    first = errors[0]
    loc = tuple(part for part in first.get("loc", ()) if part != "body")
    # discriminated unions add the tag as a path element; drop it for a readable key path
    loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "json-"))))
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PolystackError)
    async def polystack_error(_: Request, exc: PolystackError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.warning("%s: %s", type(exc).__name__, exc.message)
        body = exc.to_body()
        body["error"]["message"] = public_message(exc.message)  # no secret, file path or database address
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(list(exc.errors()))
        body = error_body_for_status(400, message, param)
        body["error"]["code"] = "invalid_request"
        return JSONResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "Unknown route; GET /v1/inspect/routes lists the served ones."
        return JSONResponse(error_body_for_status(exc.status_code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(error_body_for_status(500, "Internal server error."), status_code=500)
