"""Pure-ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

from __future__ import annotations

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
        token = set_provider_data(data)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_provider_data(token)


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
