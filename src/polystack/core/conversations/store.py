"""ConversationStore: conversations and their items as rows of the SQL store, served under Api.conversations.

Conversation rows are owned (the SQL store applies the access policy: another caller's conversation is
invisible). Items share their conversation's access: every item operation first reads the conversation
(and, before a change, asks the SQL store whether the caller may update it), then filters items by
`conversation_id`. Items are ordered by `position`, taken from the clock in nanoseconds and always past
the conversation's last position, with the item id as tiebreaker: a total order shared by every replica,
with no in-process counter, so cursor pages stay stable.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from polystack.apis.conversations.types import (
    Conversation,
    ConversationDeleted,
    ConversationItemList,
    CreateConversationRequest,
    UpdateConversationRequest,
)
from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError
from polystack.apis.responses.items import ITEMS, InputItem, Item, ItemReference, new_item_id, normalize_items
from polystack.core.conversations.items import check_items, shown
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema

CONTEXT_PAGE = 1000  # rows per read when context_items walks a whole conversation


def conversation_schema(table: str) -> TableSchema:
    return TableSchema(table, {
        "id": Column(ColumnType.STRING, primary_key=True, nullable=False),
        "created_at": Column(ColumnType.INTEGER, nullable=False, index=True),
        "metadata": Column(ColumnType.JSON),
    }, owned=True, resource_type="conversation")


def item_schema(table: str) -> TableSchema:
    return TableSchema(table, {
        "key": Column(ColumnType.STRING, primary_key=True, nullable=False),  # see item_key
        "id": Column(ColumnType.STRING, nullable=False, index=True),
        "conversation_id": Column(ColumnType.STRING, nullable=False, index=True),
        "position": Column(ColumnType.INTEGER, nullable=False, index=True),
        "type": Column(ColumnType.STRING, nullable=False),
        "created_at": Column(ColumnType.INTEGER, nullable=False),
        "item": Column(ColumnType.JSON, nullable=False),
    })


def item_key(conversation_id: str, item_id: str) -> str:
    """An item id is unique within its conversation only: the same item may be in two conversations, and a
    caller's choice of id must not collide with (and so reveal) an item of another caller."""
    return f"{conversation_id}/{item_id}"


def new_conversation_id() -> str:
    return f"conv_{uuid.uuid4().hex}"


def _page(data: list[dict[str, Any]], has_more: bool) -> ConversationItemList:
    return ConversationItemList(data=data, has_more=has_more, first_id=data[0]["id"] if data else "",
                                last_id=data[-1]["id"] if data else "")


class ConversationStore:
    """The Conversations API over a SQL store (conversations in `table`, their items in `<table>_items`)."""

    def __init__(self, sql: SQLStore, table: str = "conversations") -> None:
        self.sql = sql
        self.table = table
        self.items_table = f"{table}_items"

    async def migrate(self) -> int:
        schemas = (conversation_schema(self.table), item_schema(self.items_table))

        async def create_tables(store: SQLStore) -> None:
            for schema in schemas:
                await store.create_table(schema)

        applied = await self.sql.migrate(f"conversations:{self.table}", [create_tables])
        for schema in schemas:  # registers the tables with this store object
            await self.sql.create_table(schema)
        return applied

    # ---- conversations ----------------------------------------------------------------------------

    async def create_conversation(self, request: CreateConversationRequest) -> Conversation:
        items = normalize_items(self._no_references(check_items(request.items or [])))
        conversation = Conversation(id=new_conversation_id(), created_at=int(time.time()),
                                    metadata=request.metadata or {})
        await self.sql.insert(self.table, {"id": conversation.id, "created_at": conversation.created_at,
                                           "metadata": conversation.metadata or None})
        if items:
            try:
                await self._append(conversation.id, items)
            except BaseException:  # all or nothing: no conversation without the items it was created with
                await self.sql.delete(self.table, {"id": conversation.id})
                raise
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation:
        row = await self.sql.fetch_one(self.table, {"id": conversation_id})
        if row is None:  # also when it is another caller's: never a hint that it exists
            raise NotFoundError(f"Conversation with id '{conversation_id}' not found.", param="conversation_id")
        return Conversation(id=row["id"], created_at=row["created_at"], metadata=row["metadata"] or {})

    async def _changeable(self, conversation_id: str, action: Literal["update", "delete"] = "update"
                          ) -> Conversation:
        """The conversation, once the SQL store said the caller may change it (AccessDeniedError if not)."""
        conversation = await self.get_conversation(conversation_id)
        await self.sql.authorize(self.table, {"id": conversation_id}, action)
        return conversation

    async def update_conversation(self, conversation_id: str, request: UpdateConversationRequest) -> Conversation:
        conversation = await self._changeable(conversation_id)
        await self.sql.update(self.table, {"metadata": request.metadata or None}, {"id": conversation_id})
        return conversation.model_copy(update={"metadata": request.metadata or {}})

    async def delete_conversation(self, conversation_id: str) -> ConversationDeleted:
        await self._changeable(conversation_id, "delete")
        await self.sql.delete(self.table, {"id": conversation_id})
        await self.sql.delete(self.items_table, {"conversation_id": conversation_id})
        return ConversationDeleted(id=conversation_id)

    # ---- items ------------------------------------------------------------------------------------

    async def add_items(self, conversation_id: str, items: list[dict[str, Any]],
                        include: list[str] | None = None) -> ConversationItemList:
        parsed = check_items(items)  # a bad item is a 400 even on another caller's conversation id
        await self._changeable(conversation_id)
        added = normalize_items(await self._resolve(conversation_id, parsed))
        rows = await self._append(conversation_id, added)
        return _page([shown(row, include or ()) for row in rows], has_more=False)

    async def list_items(self, conversation_id: str, *, after: str | None, limit: int,
                         order: Literal["asc", "desc"], include: list[str] | None = None) -> ConversationItemList:
        await self.get_conversation(conversation_id)
        if after is not None and await self._item_row(conversation_id, after) is None:
            raise InvalidRequestError(f"Invalid 'after': no item '{after}' in conversation '{conversation_id}'.",
                                      param="after")
        page = await self.sql.fetch_all(self.items_table, Query(
            where={"conversation_id": conversation_id}, order_by=[("position", order)],
            after=("key", item_key(conversation_id, after)) if after else None, limit=limit))
        return _page([shown(row["item"], include or ()) for row in page.data], page.has_more)

    async def get_item(self, conversation_id: str, item_id: str,
                       include: list[str] | None = None) -> dict[str, Any]:
        await self.get_conversation(conversation_id)
        row = await self._item_row(conversation_id, item_id)
        if row is None:
            raise NotFoundError(f"Item with id '{item_id}' not found in conversation '{conversation_id}'.",
                                param="item_id")
        return shown(row["item"], include or ())

    async def delete_item(self, conversation_id: str, item_id: str) -> Conversation:
        conversation = await self._changeable(conversation_id)
        deleted = await self.sql.delete(self.items_table, {"key": item_key(conversation_id, item_id)})
        if not deleted:
            raise NotFoundError(f"Item with id '{item_id}' not found in conversation '{conversation_id}'.",
                                param="item_id")
        return conversation

    async def context_items(self, conversation_id: str, *, writable: bool = False) -> list[dict[str, Any]]:
        # a response appends to its conversation: refused up front (403), not once the model has answered
        await (self._changeable(conversation_id) if writable else self.get_conversation(conversation_id))
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = await self.sql.fetch_all(self.items_table, Query(
                where={"conversation_id": conversation_id}, order_by=[("position", "asc")],
                after=("key", item_key(conversation_id, after)) if after else None, limit=CONTEXT_PAGE))
            found += [row["item"] for row in page.data]
            if not page.has_more:
                return found
            after = page.data[-1]["id"]

    # ---- helpers ----------------------------------------------------------------------------------

    async def _item_row(self, conversation_id: str, item_id: str) -> dict[str, Any] | None:
        return await self.sql.fetch_one(self.items_table, {"key": item_key(conversation_id, item_id)})

    @staticmethod
    def _no_references(items: list[InputItem]) -> list[Item]:
        """A new conversation has nothing to refer to."""
        for index, item in enumerate(items):
            if isinstance(item, ItemReference):
                raise InvalidRequestError(f"Invalid value for 'items[{index}].id': no item '{item.id}' (a new "
                                          "conversation has no items to refer to).", param=f"items[{index}].id")
        return [item for item in items if not isinstance(item, ItemReference)]

    async def _resolve(self, conversation_id: str, items: list[InputItem]) -> list[Item]:
        """item_reference entries replaced by a copy (with a new id) of the conversation's item they name."""
        resolved: list[Item] = []
        for index, item in enumerate(items):
            if not isinstance(item, ItemReference):
                resolved.append(item)
                continue
            row = await self._item_row(conversation_id, item.id)
            if row is None:
                raise InvalidRequestError(f"Invalid value for 'items[{index}].id': no item '{item.id}' in "
                                          f"conversation '{conversation_id}'.", param=f"items[{index}].id")
            original = ITEMS.validate_python([row["item"]])[0]
            resolved.append(original.model_copy(update={"id": new_item_id(original.type)}))
        return resolved

    async def _append(self, conversation_id: str, items: list[Item]) -> list[dict[str, Any]]:
        """Insert `items` after the conversation's last one, all or none; returns their JSON."""
        last = await self.sql.fetch_all(self.items_table, Query(
            where={"conversation_id": conversation_id}, order_by=[("position", "desc")], limit=1))
        start = max(time.time_ns(), last.data[0]["position"] + 1 if last.data else 0)
        now = int(time.time())
        bodies = [item.model_dump(mode="json") for item in items]
        seen: set[str] = set()
        for index, body in enumerate(bodies):
            if body["id"] in seen:
                raise _duplicate(index, body["id"])
            seen.add(body["id"])
        try:
            await self.sql.insert(self.items_table, [
                {"key": item_key(conversation_id, body["id"]), "id": body["id"], "conversation_id": conversation_id,
                 "position": start + offset, "type": body["type"], "created_at": now, "item": body}
                for offset, body in enumerate(bodies)])
        except ConflictError:
            for index, body in enumerate(bodies):
                if await self._item_row(conversation_id, body["id"]) is not None:
                    raise _duplicate(index, body["id"]) from None
            raise
        return bodies


def _duplicate(index: int, item_id: str) -> InvalidRequestError:
    return InvalidRequestError(f"Invalid value for 'items[{index}].id': the conversation already has an item "
                               f"'{item_id}'.", param=f"items[{index}].id")
