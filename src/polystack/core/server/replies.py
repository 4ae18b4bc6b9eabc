"""Answering from pure-ASGI middleware: one way to send an error in OpenAI's body before the app runs."""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from starlette.types import Message, Send


class ErrorReply(Protocol):
    """A PolystackError, or a middleware's own refusal with the same two members."""

    status_code: int

    def to_body(self) -> dict[str, Any]: ...


async def send_error(send: Send, error: ErrorReply, *, extra_headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """`error` as a complete JSON response; `extra_headers` e.g. `connection: close` or `www-authenticate`."""
    payload = orjson.dumps(error.to_body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
               *extra_headers]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class WatchedSend:
    """A `send` that remembers whether the response has started: past that point a middleware can no
    longer answer with an error of its own, only let the connection end."""

    __slots__ = ("_send", "started")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)
