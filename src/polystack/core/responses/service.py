"""The Responses API as the routes see it: create (streamed or not) over the engine, and the stored responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from starlette.websockets import WebSocket

from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError, NotFoundError, PolystackError
from polystack.apis.events import StreamEvent
from polystack.apis.responses.types import (
    CompactedResponse,
    CompactRequest,
    CreateResponseRequest,
    InputTokensRequest,
    ResponseObject,
)
from polystack.core.responses.background import BackgroundResponses
from polystack.core.responses.compaction import Compactor
from polystack.core.responses.context import MessageList, known_items, parse_input
from polystack.core.responses.engine import ResponsesEngine
from polystack.core.responses.peers import ConversationItems
from polystack.core.responses.run import TERMINAL
from polystack.core.responses.store import ResponsesStore
from polystack.core.responses.websocket import ResponsesSocket


class ResponsesService:
    """What serves Api.responses."""

    def __init__(self, engine: ResponsesEngine, background: BackgroundResponses | None = None) -> None:
        self.engine = engine
        self._background = background

    @property
    def background(self) -> BackgroundResponses:
        if self._background is None:
            raise InvalidRequestError("Background responses need stored responses on this server "
                                      "(storage.stores.responses)", param="background")
        return self._background

    @property
    def store(self) -> ResponsesStore:
        if self.engine.store is None:
            raise NotFoundError("Stored responses are not enabled on this server (storage.stores.responses)")
        return self.engine.store

    async def create_response(self, request: CreateResponseRequest
                              ) -> ResponseObject | AsyncIterator[StreamEvent]:
        """A stream of events (stream=true), else the finished response: both from the same generator."""
        if request.background:
            return await self.background.create(request)
        run = await self.engine.start(request)
        if request.stream:
            return run.events()
        async for event in run.events():
            if event.name in TERMINAL:
                break
        if run.error is not None and not run.response.output:
            raise run.error  # nothing came out: the caller gets the error itself, with its HTTP status
        return run.response

    async def get_response(self, response_id: str) -> dict[str, Any]:
        row = await self.store.row(response_id)
        if self._background is not None and row["response"].get("background"):
            return await self._background.current(row)
        return row["response"]  # type: ignore[no-any-return]

    async def compact_response(self, request: CompactRequest) -> CompactedResponse:
        return await Compactor(self.engine).compact(request)

    async def serve_websocket(self, socket: WebSocket) -> None:
        await ResponsesSocket(socket, self.engine).serve()

    async def stream_response(self, response_id: str, starting_after: int | None) -> AsyncIterator[StreamEvent]:
        return await self.background.stream(response_id, starting_after)

    async def cancel_response(self, response_id: str) -> dict[str, Any]:
        if self._background is None:
            await self.store.row(response_id)  # 404 first, as for any other caller
            raise InvalidRequestError("Only responses created with background=true can be cancelled",
                                      param="response_id")
        return await self._background.cancel(response_id)

    async def delete_response(self, response_id: str) -> dict[str, Any]:
        await self.store.delete(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    async def list_responses(self, *, after: str | None, limit: int, model: str | None,
                             order: Literal["asc", "desc"]) -> dict[str, Any]:
        if after is not None:
            await self.store.row(after, param="after")
        rows, has_more = await self.store.list(after=after, limit=limit, model=model, order=order)
        data = [{**row["response"], "input": row["input_items"]} for row in rows]
        return {"object": "list", "data": data, "has_more": has_more,
                "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}

    async def list_input_items(self, response_id: str, *, after: str | None, before: str | None, limit: int,
                               order: Literal["asc", "desc"]) -> dict[str, Any]:
        items: list[dict[str, Any]] = list((await self.store.row(response_id))["input_items"])
        if order == "desc":
            items.reverse()
        ids = [item.get("id") for item in items]
        for cursor, name in ((after, "after"), (before, "before")):
            if cursor is not None and cursor not in ids:
                raise NotFoundError(f"No input item with id '{cursor}' in response '{response_id}'", param=name)
        start = ids.index(after) + 1 if after is not None else 0
        end = ids.index(before) if before is not None else len(items)
        window = items[start:end]
        page = window[:limit]
        return {"object": "list", "data": page, "has_more": len(window) > limit,
                "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None}

    async def count_input_tokens(self, request: InputTokensRequest) -> dict[str, Any]:
        """cl100k_base tokens of what the model would read: instructions, context, input and tool definitions."""
        from polystack.providers.utils.documents.tokens import count_tokens

        context = MessageList()
        if request.previous_response_id is not None:
            context = MessageList((await self.store.row(request.previous_response_id,
                                                        param="previous_response_id"))["messages"])
        conversation = request.conversation
        if conversation is not None:
            conversations = self.engine.impls.get_as(Api.conversations, ConversationItems)
            if conversations is None:
                raise InvalidRequestError("this server does not serve the conversations API", param="conversation")
            conversation_id = conversation if isinstance(conversation, str) else conversation.id
            context.extend(known_items(await conversations.context_items(conversation_id)))
        if request.input is not None:
            context.extend(parse_input(request.input))
        texts = [request.instructions or ""]
        for message in context.messages:
            content = message.get("content")
            texts.append(content if isinstance(content, str) else
                         " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict)))
            texts += [c["function"]["name"] + c["function"]["arguments"] for c in message.get("tool_calls", [])]
        texts += [tool.model_dump_json(exclude_none=True) for tool in request.tools]
        try:
            total = sum(count_tokens(text) for text in texts if text)
        except RuntimeError as exc:  # the offline vocabulary is missing
            raise PolystackError(str(exc)) from None
        return {"object": "response.input_tokens", "input_tokens": total}
