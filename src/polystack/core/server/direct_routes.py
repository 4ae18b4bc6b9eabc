"""Direct routes: the hot inference POSTs called without FastAPI's routing, dependency solving and stdlib JSON.

A route marked `@direct(Model, api)` (apis/http.py) is found here by its full path; its JSON body is
validated straight from the bytes (`Model.model_validate_json`) and the route function is called with the
API's implementation, bound when the app is built. Everything around it stays: the middlewares outside
(limits, JSON guard, request context, access log), the same route function, the same error bodies
(errors.py), `scope["route"]` for metrics and spans. A request the fast path does not fit (another content
type, an empty body, dependency overrides set) goes through FastAPI as before, with its body replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.errors import PolystackError, error_body_for_status
from polystack.apis.http import DirectCall
from polystack.core.server.asgi_body import read_body, replay
from polystack.core.server.errors import invalid_inside_response, invalid_request_response, polystack_error_response


@dataclass(frozen=True)
class DirectRoute:
    """One marked route as served under one prefix."""

    route: APIRoute  # the route FastAPI would have matched (scope["route"]: metrics and spans read it)
    body: type[BaseModel]
    api: str


def direct_routes(router_routes: list[Any], prefixes: tuple[str, ...]) -> dict[str, DirectRoute]:
    """The marked POST routes of one API router, by full path under each of `prefixes`."""
    found: dict[str, DirectRoute] = {}
    for route in router_routes:
        call: DirectCall | None = getattr(getattr(route, "endpoint", None), "direct_call", None)
        if isinstance(route, APIRoute) and call is not None and route.methods == {"POST"}:
            for prefix in prefixes:
                found[prefix + route.path] = DirectRoute(route, call.body, str(call.api))
    return found


class DirectRoutesMiddleware:
    """Pure ASGI, innermost of the app's middlewares: serves the direct routes, passes everything else on."""

    def __init__(self, app: ASGIApp, *, routes: Mapping[str, DirectRoute], impls: Mapping[str, Any],
                 fastapi: FastAPI) -> None:
        self.app = app
        self._routes = routes
        self._impls = impls
        self._overrides: Callable[[], bool] = lambda: bool(fastapi.dependency_overrides)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = self._routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if direct is None or not _is_json(scope) or self._overrides():
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client went away
        if not body:  # FastAPI says what a missing body is
            await self.app(scope, replay(body, receive), send)
            return
        scope["route"], scope["endpoint"] = direct.route, direct.route.endpoint
        scope.setdefault("path_params", {})
        response = await self._respond(direct, body)
        await response(scope, receive, send)

    async def _respond(self, direct: DirectRoute, body: bytes) -> Response:
        try:
            request = direct.body.model_validate_json(body)
        except ValidationError as exc:
            return invalid_request_response(list(exc.errors()))
        try:
            response: Response = await direct.route.endpoint(request, self._impls[direct.api])
        except PolystackError as exc:
            return polystack_error_response(exc)
        except ValidationError as exc:
            return invalid_inside_response(exc)
        except HTTPException as exc:
            return _http_error_response(exc)
        return response


def _http_error_response(exc: HTTPException) -> Response:
    body = error_body_for_status(exc.status_code, str(exc.detail), getattr(exc, "param", None))
    body["error"]["code"] = getattr(exc, "code", None)
    return JSONResponse(body, status_code=exc.status_code, headers=dict(exc.headers or {}) or None)


def _is_json(scope: Scope) -> bool:
    """FastAPI's own rule: a body is parsed as JSON only with an application/json or +json content type."""
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))
