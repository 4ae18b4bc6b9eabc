"""Stored responses: the response object, its input items and the chat messages to continue from, in one owned
SQL table (the caller's principal owns each row; another caller's row is invisible, so a 404)."""

from __future__ import annotations

import time
from typing import Any, Literal

import orjson

from polystack.apis.datatypes import User
from polystack.apis.errors import NotFoundError
from polystack.core.request_context import current_user
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema
from polystack.core.stores.write_queue import WriteQueue


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
    """Responses are written in group commits through a write queue: behind the response (`write_behind`, the
    default) or awaited (`commit`). Reads wait for this replica's pending writes, so a caller always reads
    what it just created here."""

    def __init__(self, sql: SQLStore, table: str = "responses", *,
                 durability: Literal["write_behind", "commit"] = "write_behind", max_queue: int = 10000,
                 writers: int = 2) -> None:
        self.sql = sql
        self.table = table
        self.durability = durability
        linger = 0.0 if durability == "commit" else 0.01
        self._queue = WriteQueue(self._write, max_size=max_queue, writers=writers, linger_seconds=linger,
                                 name="responses store")

    async def start(self) -> None:
        await self.migrate()
        self._queue.start()

    async def close(self) -> None:
        await self._queue.close()

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        by_owner: dict[str | None, list[dict[str, Any]]] = {}
        for row in rows:
            owner = row.get("__owner__")
            by_owner.setdefault(orjson.dumps(owner).decode() if owner else None, []).append(
                {k: v for k, v in row.items() if k != "__owner__"})
        for key, group in by_owner.items():
            await self.sql.insert(self.table, group, owner=User.model_validate_json(key) if key else None)

    async def migrate(self) -> None:
        schema = _schema(self.table)

        async def create_table(store: SQLStore) -> None:
            await store.create_table(schema)

        await self.sql.migrate(f"responses:{self.table}", [create_table])
        await self.sql.create_table(schema)  # registers the table with this store object

    @staticmethod
    def _row(response: dict[str, Any], input_items: list[dict[str, Any]], messages: list[dict[str, Any]]
             ) -> dict[str, Any]:
        return {"id": response["id"], "created_at": response["created_at"], "stored_at": time.time_ns(),
                "model": response["model"], "response": response, "input_items": input_items, "messages": messages}

    async def save(self, response: dict[str, Any], input_items: list[dict[str, Any]],
                   messages: list[dict[str, Any]]) -> None:
        """Store a new response, owned by the caller (see the class docstring for when it is committed)."""
        user = current_user.get()
        row = {**self._row(response, input_items, messages), "__owner__": user.model_dump() if user else None}
        done = await self._queue.put(row)
        if self.durability == "commit":
            await done
        else:
            done.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def save_again(self, response: dict[str, Any], input_items: list[dict[str, Any]],
                         messages: list[dict[str, Any]]) -> None:
        """Insert or replace (a response saved while it progresses, e.g. in the background)."""
        await self._queue.barrier()
        await self.sql.upsert(self.table, self._row(response, input_items, messages), ["id"])

    async def row(self, response_id: str, *, param: str = "response_id") -> dict[str, Any]:
        await self._queue.barrier()
        found = await self.sql.fetch_one(self.table, {"id": response_id})
        if found is None:
            raise NotFoundError(f"No response with id '{response_id}' found.", param=param)
        return found

    async def delete(self, response_id: str) -> None:
        await self._queue.barrier()
        if not await self.sql.delete(self.table, {"id": response_id}):
            raise NotFoundError(f"No response with id '{response_id}' found.", param="response_id")

    async def list(self, *, after: str | None, limit: int, model: str | None,
                   order: Literal["asc", "desc"]) -> tuple[list[dict[str, Any]], bool]:
        await self._queue.barrier()
        page = await self.sql.fetch_all(self.table, Query(
            where={"model": model} if model else {}, order_by=[("created_at", order), ("stored_at", order)],
            after=("id", after) if after else None, limit=limit))
        return page.data, page.has_more
