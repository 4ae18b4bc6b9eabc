"""Access log: one line per HTTP request (method, path, status, duration, model, request id), pure ASGI.

Never bodies, query strings or headers other than X-Request-ID, so no key can reach the log. The line
goes to the `polystack.access` logger at info; POLYSTACK_ACCESS_LOG=false (or a level above info for
`access` in POLYSTACK_LOGGING) switches it off.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polystack.core import request_log
from polystack.core.server.access_line import write_access_line
from polystack.core.telemetry.metrics import Metrics, error_class

logger = logging.getLogger("polystack.access")

REQUEST_ID_HEADER = b"x-request-id"
CACHE_CONTROL_HEADER = b"cache-control"
CACHE_HEADER = b"x-polystack-cache"
# An incoming id is kept only if it cannot forge or break a log line.
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID if it is a safe token, else a new one."""
    return _read_headers(scope)[0]


def _read_headers(scope: Scope) -> tuple[str, bytes | None]:
    """In one scan: the request id (the caller's X-Request-ID if it is a safe token, else a new one) and
    the Cache-Control header (for the response cache)."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    request_id = cache_control = None
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            request_id = value
        elif name == CACHE_CONTROL_HEADER:
            cache_control = value
    if request_id is not None and _SAFE_ID.fullmatch(request_id):
        return request_id.decode(), cache_control
    return uuid.uuid4().hex, cache_control


class AccessLogMiddleware:
    """Gives each request an id (echoed in the X-Request-ID response header) and logs it once done."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None, prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self._prefixes = tuple(sorted(set(prefixes), key=len, reverse=True))  # the APIs' (/v1, /v1alpha, ...)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, cache_control = _read_headers(scope)
        entry, token = request_log.begin(request_id)
        if cache_control is not None:
            entry.cache_control = cache_control.decode("latin-1")
        header = (REQUEST_ID_HEADER, entry.request_id.encode())
        status = 500  # if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
                if entry.cache is not None:
                    message["headers"].append((CACHE_HEADER, entry.cache.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            try:
                self._done(scope, entry, status, started)
            finally:
                request_log.end(token)  # after the line: the log filter adds the request's trace id

    def _done(self, scope: Scope, entry: request_log.RequestLog, status: int, started: float) -> None:
        if self.metrics is not None:
            self._measure(scope, status, time.perf_counter() - started)
        if logger.isEnabledFor(logging.INFO):
            fields = {"method": scope["method"], "path": scope["path"], "status": status,
                      "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                      "request_id": entry.request_id}
            if entry.model is not None:
                fields["model"] = entry.model
            if entry.shields:
                fields["shields"] = ",".join(entry.shields)
            if entry.cache is not None:
                fields["cache"] = entry.cache
            if not write_access_line(logger, fields):
                logger.info("request", extra=fields)

    def _measure(self, scope: Scope, status: int, seconds: float) -> None:
        """Count the request under its route template (never the raw path: ids would make series unbounded)."""
        assert self.metrics is not None
        route = self._template(scope)
        method = scope["method"]
        metrics = self.metrics
        metrics.requests.labels(route, method, str(status)).inc()
        metrics.latency.labels(route, method).observe(seconds)
        failure = error_class(status)
        if failure is not None:
            metrics.errors.labels(route, failure).inc()

    def _template(self, scope: Scope) -> str:
        return route_template(scope, self._prefixes)


def route_template(scope: Scope, prefixes: tuple[str, ...]) -> str:
    """The matched route's template with the API prefix it was served under (routers are shared between
    prefixes, so the route itself knows only its unprefixed path); `prefixes` longest first."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return "unmatched"
    path: str = scope["path"]
    for prefix in prefixes:
        if path.startswith(prefix) and route.path_regex.match(path[len(prefix):]):  # type: ignore[union-attr]
            return f"{prefix}{template}"
    return str(template)
