"""Stored responses: the response object, its input items and the chat messages to continue from, in one owned
SQL table (the caller's principal owns each row; another caller's row is invisible, so a 404)."""

from __future__ import annotations

import time
from typing import Any, Literal

from polystack.apis.errors import NotFoundError
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema


def _schema(table: str) -> TableSchema:
    return TableSchema(table, {
        "id": Column(ColumnType.STRING, primary_key=True, nullable=False),
        "created_at": Column(ColumnType.INTEGER, nullable=False, index=True),
        "stored_at": Column(ColumnType.INTEGER, nullable=False),  # ns: orders responses made in one second
        "model": Column(ColumnType.STRING, nullable=False, index=True),
        "response": Column(ColumnType.JSON, nullable=False),
        "input_items": Column(ColumnType.JSON, nullable=False),
        "messages": Column(ColumnType.JSON, nullable=False),  # the chat context after it, instructions excluded
    }, owned=True, resource_type="response")


class ResponsesStore:
    def __init__(self, sql: SQLStore, table: str = "responses") -> None:
        self.sql = sql
        self.table = table

    async def migrate(self) -> None:
        schema = _schema(self.table)

        async def create_table(store: SQLStore) -> None:
            await store.create_table(schema)

        await self.sql.migrate(f"responses:{self.table}", [create_table])
        await self.sql.create_table(schema)  # registers the table with this store object

    async def save(self, response: dict[str, Any], input_items: list[dict[str, Any]],
                   messages: list[dict[str, Any]]) -> None:
        """Insert or replace the response (a background response is saved again as it progresses)."""
        await self.sql.upsert(self.table, {
            "id": response["id"], "created_at": response["created_at"], "stored_at": time.time_ns(),
            "model": response["model"], "response": response, "input_items": input_items, "messages": messages,
        }, ["id"])

    async def row(self, response_id: str, *, param: str = "response_id") -> dict[str, Any]:
        found = await self.sql.fetch_one(self.table, {"id": response_id})
        if found is None:
            raise NotFoundError(f"No response with id '{response_id}' found.", param=param)
        return found

    async def delete(self, response_id: str) -> None:
        if not await self.sql.delete(self.table, {"id": response_id}):
            raise NotFoundError(f"No response with id '{response_id}' found.", param="response_id")

    async def list(self, *, after: str | None, limit: int, model: str | None,
                   order: Literal["asc", "desc"]) -> tuple[list[dict[str, Any]], bool]:
        page = await self.sql.fetch_all(self.table, Query(
            where={"model": model} if model else {}, order_by=[("created_at", order), ("stored_at", order)],
            after=("id", after) if after else None, limit=limit))
        return page.data, page.has_more
