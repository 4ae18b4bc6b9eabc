"""What the audit log records of a request's content when `server.audit.include_content` is on.

Off (the default), this module is not on the request path at all. On, `AuditContentMiddleware` keeps a
copy of each JSON request body (up to CAPTURE_BYTES) as the route reads it, and the audit log asks
`request_content()` only when it records an entry: the body's content-bearing fields (CONTENT_FIELDS), with
secret-named keys dropped, every secret the scrubber knows (configured ones, the caller's provider data) and
the caller's bearer token masked, cut at `max_content_bytes`.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polystack.core.secrets import MASK, MIN_LENGTH, is_secret_name, scrub

# top-level fields that carry what a user wrote or sent: chat and responses input, prompts, conversation
# items, vector-io chunks, search queries
CONTENT_FIELDS = ("messages", "input", "instructions", "prompt", "items", "content", "text", "query", "chunks",
                  "documents", "template")
CAPTURE_BYTES = 1024 * 1024  # a larger body is not parsed for the audit log; its entry says so
TRUNCATED = "...[truncated]"
_JSON = b"application/json"


@dataclass(slots=True)
class _Capture:
    token: str | None
    body: bytearray = field(default_factory=bytearray)
    overflow: bool = False


_captured: ContextVar[_Capture | None] = ContextVar("audit_content", default=None)


class AuditContentMiddleware:
    """Pure ASGI: tees the JSON body of each HTTP request into a context variable the audit log reads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        capture = _Capture(_bearer(scope))

        async def teed() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not capture.overflow:
                chunk = message.get("body", b"")
                if len(capture.body) + len(chunk) > CAPTURE_BYTES:
                    capture.overflow = True
                    capture.body.clear()
                else:
                    capture.body += chunk
            return message

        token = _captured.set(capture)
        try:
            await self.app(scope, teed, send)
        finally:
            _captured.reset(token)


def request_content(max_bytes: int) -> str | None:
    """The current request's content-bearing fields as scrubbed JSON text (None: no JSON body, or none of them)."""
    capture = _captured.get()
    if capture is None:
        return None
    if capture.overflow:
        return f"[a request body over {CAPTURE_BYTES} bytes: not recorded]"
    try:
        data = orjson.loads(bytes(capture.body)) if capture.body else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    fields = {name: _without_secret_keys(data[name]) for name in CONTENT_FIELDS if name in data}
    if not fields:
        return None
    text = scrub(orjson.dumps(fields).decode())
    if capture.token is not None and len(capture.token) >= MIN_LENGTH:
        text = text.replace(capture.token, MASK)
    return text if len(text.encode()) <= max_bytes else _cut(text, max_bytes)


def _without_secret_keys(value: Any) -> Any:
    """The value with any secret-named key's value masked (an `api_key` inside a tool's config, say)."""
    if isinstance(value, dict):
        return {key: MASK if is_secret_name(str(key)) else _without_secret_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_secret_keys(item) for item in value]
    return value


def _cut(text: str, max_bytes: int) -> str:
    room = max(0, max_bytes - len(TRUNCATED))
    return text.encode()[:room].decode(errors="ignore") + TRUNCATED


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).lower().startswith(_JSON)
    return False


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None
