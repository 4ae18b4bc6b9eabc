"""The Responses WebSocket mode on `/v1/responses`: `response.create` messages in, the SSE events out as JSON text.

As OpenAI defines it (and the `openai` SDK's `client.responses.connect()` speaks it): each `response.create`
message carries the create parameters (`stream` is implicit, `background` is refused); the server answers
with the response's events, each a JSON text message numbered from 0 per response, and handles the
messages of one socket in order, one response at a time. A message that cannot be served is answered with
an `error` event (the HTTP status and OpenAI's error object), never a dropped socket. The socket keeps the
context of its last response, so `previous_response_id` continues it even when it was not stored
(`store: false`). An optional `stream_id` is echoed on each event of its response.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from polystack.apis.errors import InvalidRequestError, PolystackError
from polystack.apis.events import StreamEvent
from polystack.apis.http import dump_json
from polystack.apis.responses.types import CreateResponseRequest
from polystack.core.responses.context import ChatMessage
from polystack.core.responses.engine import ResponsesEngine
from polystack.core.responses.run import TERMINAL
from polystack.core.secrets import public_message
from polystack.core.server.errors import validation_message

logger = logging.getLogger("polystack.responses")

_ENVELOPE = ("type", "stream_id")  # WebSocket-only fields of a response.create message
_INTERNAL = PolystackError("internal error while producing the response")


class _Gone(Exception):
    """The client closed the socket."""


class ResponsesSocket:
    """One WebSocket connection: its messages served in order, and its last response's context."""

    def __init__(self, socket: WebSocket, engine: ResponsesEngine) -> None:
        self.socket = socket
        self.engine = engine
        self.last: tuple[str, list[ChatMessage]] | None = None  # (response id, its context after it)

    async def serve(self) -> None:
        await self.socket.accept()
        try:
            while True:
                message = await self.socket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                await self.handle(text)
        except (_Gone, WebSocketDisconnect):
            return

    async def handle(self, text: str) -> None:
        """Serve one client message; anything wrong with it becomes an `error` event."""
        stream_id: str | None = None
        try:
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise InvalidRequestError("A WebSocket message must be a JSON object") from None
            if not isinstance(data, dict):
                raise InvalidRequestError("A WebSocket message must be a JSON object")
            stream_id = data.get("stream_id") if isinstance(data.get("stream_id"), str) else None
            if data.get("type") != "response.create":
                raise InvalidRequestError(f"Unsupported event type {data.get('type')!r}: this server accepts "
                                          "'response.create'", param="type")
            await self.create(data, stream_id)
        except PolystackError as exc:
            await self.send(_error(exc), stream_id)

    async def create(self, data: dict[str, Any], stream_id: str | None) -> None:
        body = {key: value for key, value in data.items() if key not in _ENVELOPE}
        if body.get("background"):
            raise InvalidRequestError("background is not supported over WebSocket", param="background")
        body["stream"] = True  # implicit over a WebSocket
        try:
            request = CreateResponseRequest.model_validate(body)
        except ValidationError as exc:
            message, param = validation_message(list(exc.errors()))
            raise InvalidRequestError(message, param=param) from None
        previous = None
        if self.last is not None and request.previous_response_id == self.last[0]:
            previous = copy.deepcopy(self.last[1])
        run = await self.engine.start(request, previous_messages=previous)
        events = run.events()
        number = 0
        try:
            async for event in events:
                await self.send(event.numbered(number).payload(), stream_id)
                number += 1
                if event.name in TERMINAL and run.response.status != "failed":
                    self.last = (run.response.id, copy.deepcopy(run.context.messages))
        except (_Gone, PolystackError):
            raise
        except Exception:
            logger.exception("WebSocket response %s failed", run.response.id)
            await self.send(StreamEvent("error", _error(_INTERNAL)).numbered(number).payload(), stream_id)
        finally:
            await _close(events)

    async def send(self, payload: dict[str, Any], stream_id: str | None) -> None:
        if stream_id is not None:
            payload["stream_id"] = stream_id
        try:
            await self.socket.send_text(dump_json(payload).decode())
        except Exception as exc:  # the client went away mid-response: stop producing it
            raise _Gone from exc


def _error(exc: PolystackError) -> dict[str, Any]:
    """OpenAI's WebSocket `error` event: the HTTP status it would have had, and the error object."""
    body = exc.to_body()["error"]
    return {"type": "error", "status": exc.status_code,
            "error": {"type": body["type"], "code": body["code"], "message": public_message(body["message"]),
                      "param": body["param"]}}


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    """Close the engine's generator now (its cleanup runs here, not at garbage collection)."""
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
