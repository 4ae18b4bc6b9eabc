"""The conversations contract: what the routes call, and what the Responses engine reads and appends."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from polystack.apis.conversations.types import (
    Conversation,
    ConversationDeleted,
    ConversationItemList,
    CreateConversationRequest,
    UpdateConversationRequest,
)


@runtime_checkable
class Conversations(Protocol):
    """Conversations of the caller: another caller's conversation is a NotFoundError, never a hint it exists."""

    async def create_conversation(self, request: CreateConversationRequest) -> Conversation: ...

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """NotFoundError (param `conversation_id`) when unknown or not the caller's."""
        ...

    async def update_conversation(self, conversation_id: str, request: UpdateConversationRequest) -> Conversation: ...

    async def delete_conversation(self, conversation_id: str) -> ConversationDeleted:
        """Deletes the conversation and all its items."""
        ...

    async def add_items(self, conversation_id: str, items: list[dict[str, Any]],
                        include: list[str] | None = None) -> ConversationItemList:
        """Validate, normalise (ids, statuses) and append `items`, oldest first; returns what was added.

        InvalidRequestError naming `items[i].field` for a bad item (nothing is added then), or an
        `item_reference` naming no item of this conversation."""
        ...

    async def list_items(self, conversation_id: str, *, after: str | None, limit: int,
                         order: Literal["asc", "desc"], include: list[str] | None = None) -> ConversationItemList: ...

    async def get_item(self, conversation_id: str, item_id: str,
                       include: list[str] | None = None) -> dict[str, Any]: ...

    async def delete_item(self, conversation_id: str, item_id: str) -> Conversation:
        """OpenAI answers with the conversation the item was removed from."""
        ...

    async def context_items(self, conversation_id: str, *, writable: bool = False) -> list[dict[str, Any]]:
        """Every item, oldest first, as stored (nothing left out by `include`): a response's context.
        With `writable`, AccessDeniedError unless the caller may also add to it (a response will)."""
        ...
