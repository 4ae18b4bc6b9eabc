"""Pure-ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.errors import InvalidRequestError
from polystack.core.request_context import PROVIDER_DATA_HEADERS, reset_provider_data, set_provider_data


class ProviderDataMiddleware:
    """Reads X-LlamaStack-Provider-Data (or X-OGX-Provider-Data) into the request context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((value for name, value in scope["headers"] if name in PROVIDER_DATA_HEADERS), None)
        if raw is None:
            await self.app(scope, receive, send)
            return
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            error = InvalidRequestError("X-LlamaStack-Provider-Data must be a JSON object",
                                        param="X-LlamaStack-Provider-Data")
            await _send_json(send, error.status_code, error.to_body())
            return
        try:
            bad_key = unsendable_key(data)
        except RecursionError:
            bad_key = "(nested too deep)"
        if bad_key is not None:
            # the value goes into upstream headers and URLs; it is a secret, so only its key is named
            error = InvalidRequestError(f"X-LlamaStack-Provider-Data: '{bad_key}' holds control or non-ASCII "
                                        "characters", param="X-LlamaStack-Provider-Data")
            await _send_json(send, error.status_code, error.to_body())
            return
        token = set_provider_data(data)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_provider_data(token)


def unsendable_key(data: Any, key: str = "") -> str | None:
    """The key path of the first string that is not printable ASCII, which no HTTP header can carry."""
    if isinstance(data, str):
        return None if data.isascii() and data.isprintable() else key
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for name, value in children:
        path = f"{key}[{name}]" if isinstance(name, int) else (f"{key}.{name}" if key else str(name))
        if isinstance(name, str) and not (name.isascii() and name.isprintable()):
            return "(a key)"
        found = unsendable_key(value, path)
        if found is not None:
            return found
    return None


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
