"""The Responses contract the routes call (core/responses/service.py implements it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, runtime_checkable

from starlette.websockets import WebSocket

from polystack.apis.events import StreamEvent
from polystack.apis.responses.types import (
    CompactedResponse,
    CompactRequest,
    CreateResponseRequest,
    InputTokensRequest,
    ResponseObject,
)


@runtime_checkable
class Responses(Protocol):
    async def create_response(self, request: CreateResponseRequest
                              ) -> ResponseObject | AsyncIterator[StreamEvent]:
        """The finished response, or (stream=true) its events; a bad request raises before any event."""
        ...

    async def get_response(self, response_id: str) -> dict[str, Any]:
        """A stored response of the caller (NotFoundError otherwise, also for another caller's)."""
        ...

    async def compact_response(self, request: CompactRequest) -> CompactedResponse:
        """The conversation's user messages and one compaction item summarizing it (OpenAI's shape)."""
        ...

    async def serve_websocket(self, socket: WebSocket) -> None:
        """Serve one connection of the WebSocket mode (response.create messages in, events out) until it closes."""
        ...

    async def stream_response(self, response_id: str, starting_after: int | None) -> AsyncIterator[StreamEvent]:
        """A background response's events after `starting_after`, then live ones (400 for other responses)."""
        ...

    async def cancel_response(self, response_id: str) -> dict[str, Any]:
        """Cancel a background response (400 for other responses); the response as it ends."""
        ...

    async def delete_response(self, response_id: str) -> dict[str, Any]: ...

    async def list_responses(self, *, after: str | None, limit: int, model: str | None,
                             order: Literal["asc", "desc"]) -> dict[str, Any]: ...

    async def list_input_items(self, response_id: str, *, after: str | None, before: str | None, limit: int,
                               order: Literal["asc", "desc"]) -> dict[str, Any]: ...

    async def count_input_tokens(self, request: InputTokensRequest) -> dict[str, Any]: ...
