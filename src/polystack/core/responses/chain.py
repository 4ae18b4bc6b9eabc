"""The items before a request's input, for server tools that look back (an MCP listing to reuse, the approval
request an input answers): the previous responses, newest first, each read from the store once and only
when asked, so a long chain costs a tool only as far back as it looks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from polystack.apis.responses.items import ITEMS, Item

MAX_CHAIN = 100  # previous responses read at most


class StoredRows(Protocol):
    async def row(self, response_id: str, *, param: str = "response_id") -> dict[str, object]: ...


class EarlierItems:
    """`newest_first()` yields one block per earlier response (its input then output items), newest first,
    then the conversation's items (a request has a previous response or a conversation, never both)."""

    def __init__(self, store: StoredRows | None, previous_response_id: str | None,
                 conversation_items: Sequence[Item] = (), *, previous_row: dict[str, object] | None = None) -> None:
        self.store = store
        self.next_id = previous_response_id
        self.read: list[list[Item]] = []
        self.conversation_items = list(conversation_items)
        self.previous_row = previous_row  # the previous response's row, when the engine has read it already

    async def newest_first(self, limit: int = MAX_CHAIN) -> AsyncIterator[list[Item]]:
        """At most `limit` earlier responses (then the conversation's items)."""
        for block in self.read[:limit]:
            yield block
        while self.next_id is not None and self.store is not None and len(self.read) < min(limit, MAX_CHAIN):
            row = self.previous_row if self.previous_row is not None and not self.read else \
                await self.store.row(self.next_id, param="previous_response_id")
            response = row["response"]
            assert isinstance(response, dict)
            inputs = row["input_items"]
            assert isinstance(inputs, list)
            block = ITEMS.validate_python([*inputs, *response.get("output", [])])
            self.read.append(block)
            self.next_id = response.get("previous_response_id")
            yield block
        if self.conversation_items:
            yield self.conversation_items
