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

logger = logging.getLogger("polystack.access")

REQUEST_ID_HEADER = b"x-request-id"
# An incoming id is kept only if it cannot forge or break a log line.
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID if it is a safe token, else a new one."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _SAFE_ID.fullmatch(value):
                return value.decode()
            break
    return uuid.uuid4().hex


class AccessLogMiddleware:
    """Gives each request an id (echoed in the X-Request-ID response header) and logs it once done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        entry, token = request_log.begin(request_id_of(scope))
        header = (REQUEST_ID_HEADER, entry.request_id.encode())
        status = 500  # if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_log.end(token)
            if logger.isEnabledFor(logging.INFO):
                fields = {"method": scope["method"], "path": scope["path"], "status": status,
                          "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                          "request_id": entry.request_id}
                if entry.model is not None:
                    fields["model"] = entry.model
                if entry.shields:
                    fields["shields"] = ",".join(entry.shields)
                logger.info("request", extra=fields)
