"""Stored chat completions: written through a group-commit queue, read back for the OpenAI list/get routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, Literal

import orjson

from polystack.apis.datatypes import User
from polystack.apis.errors import NotFoundError, PolystackError, ServiceUnavailableError
from polystack.apis.inference.types import ChatCompletion
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema
from polystack.core.stores.journal import Journal
from polystack.core.stores.write_queue import WriteQueue
from polystack.core.telemetry.tracing import span

logger = logging.getLogger("polystack.storage")


def _schema(table: str) -> TableSchema:
    return TableSchema(table, {
        "id": Column(ColumnType.STRING, primary_key=True, nullable=False),
        "created": Column(ColumnType.INTEGER, nullable=False, index=True),
        "stored_at": Column(ColumnType.INTEGER, nullable=False),  # ns: orders completions made in one second
        "model": Column(ColumnType.STRING, nullable=False, index=True),
        "completion": Column(ColumnType.JSON, nullable=False),
        "input_messages": Column(ColumnType.JSON, nullable=False),
        "metadata": Column(ColumnType.JSON),
        "upstream_id": Column(ColumnType.STRING),  # the provider's id: not unique (see mint_completion_id)
    }, owned=True, resource_type="chat_completion")


Durability = Literal["journal", "commit", "none"]
REPLAY_BATCH = 500


def _reason(error: Exception) -> str:
    return error.message if isinstance(error, PolystackError) else f"{type(error).__name__}: {error}"


class InferenceStore:
    """Keeps every chat completion with its input messages.

    Records reach the database through a group-commit queue behind the response. How an answer the
    client already has is protected (see InferenceStoreReference.durability): a local journal
    (default), waiting for the commit, or nothing.
    """

    def __init__(self, sql: SQLStore, *, table: str = "chat_completions", max_queue: int = 10000,
                 writers: int = 4, durability: Durability = "commit", journal: Journal | None = None,
                 commit_wait_seconds: float = 5.0) -> None:
        if durability == "journal" and journal is None:
            raise ValueError("durability 'journal' needs a journal")
        self.sql = sql
        self.table = table
        self.durability = durability
        self.journal = journal if durability == "journal" else None
        self.commit_wait_seconds = commit_wait_seconds
        # nobody waits for the commit unless durability is "commit": then batches may linger and grow
        linger = 0.0 if durability == "commit" else 0.02
        self._queue = WriteQueue(self._write_batch, max_size=max_queue, writers=writers, linger_seconds=linger,
                                 name="inference store", on_rejected=self._rejected)

    async def migrate(self) -> int:
        """Bring the table to the current schema; returns how many migrations ran."""
        schema = _schema(self.table)

        async def create_table(store: SQLStore) -> None:
            await store.create_table(schema)

        async def add_upstream_id(store: SQLStore) -> None:
            await store.add_column(self.table, "upstream_id", schema.columns["upstream_id"])

        applied = await self.sql.migrate(f"inference_store:{self.table}", [create_table, add_upstream_id])
        await self.sql.create_table(schema)  # registers the table with this store object
        return applied

    async def start(self) -> None:
        await self.migrate()
        if self.journal is not None:
            await self._replay_orphaned_journals(self.journal)
            self.journal.open()
        self._queue.start()

    async def close(self) -> None:
        drained = await self._queue.close()
        if self.journal is not None:
            self.journal.close(all_committed=drained)

    async def _replay_orphaned_journals(self, journal: Journal) -> None:
        """Write what a crashed process had acknowledged but perhaps not committed.

        A record already in the database is left as it is (it was committed, and may have been updated
        since); one the database refuses is quarantined, so it never blocks the others or the start.
        """
        for path, records in journal.orphaned_records():
            for start in range(0, len(records), REPLAY_BATCH):
                await self._replay(records[start:start + REPLAY_BATCH], journal)
            path.unlink(missing_ok=True)
            logger.info("replayed %d stored completions from journal %s", len(records), path.name)

    async def _replay(self, records: list[dict[str, Any]], journal: Journal) -> None:
        try:
            await self._insert(records, ignore_existing=True)
        except ServiceUnavailableError:
            raise  # the segment stays for the next start
        except Exception:  # noqa: BLE001 - find the records at fault, one by one
            for record in records:
                try:
                    await self._insert([record], ignore_existing=True)
                except ServiceUnavailableError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    journal.quarantine(record, _reason(exc))

    async def _insert(self, rows: list[dict[str, Any]], *, ignore_existing: bool = False) -> None:
        """Insert rows that carry their owner under `__owner__`, one statement per owner."""
        by_owner: dict[str | None, list[dict[str, Any]]] = {}
        for row in rows:
            owner = row.get("__owner__")
            by_owner.setdefault(orjson.dumps(owner).decode() if owner else None, []).append(
                {k: v for k, v in row.items() if not k.startswith("__")})  # __owner__, __segment__
        for key, group in by_owner.items():
            await self.sql.insert(self.table, group, owner=User.model_validate_json(key) if key else None,
                                  ignore_existing=ignore_existing)

    async def _write_batch(self, rows: list[dict[str, Any]]) -> None:
        await self._insert(rows)
        if self.journal is not None:
            self.journal.settled(row["__segment__"] for row in rows)

    def _rejected(self, row: dict[str, Any], error: Exception) -> None:
        if self.journal is None:
            logger.error("stored completion %s was refused by the database: %s", row.get("id"), _reason(error))
            return
        segment = row.pop("__segment__")
        self.journal.quarantine(row, _reason(error))
        self.journal.settled([segment])  # its segment may go

    async def record(self, completion: ChatCompletion, input_messages: Sequence[Any],
                     metadata: dict[str, str] | None, owner: User | None, *,
                     upstream_id: str | None = None) -> None:
        """Store `completion` under its id, which must be unique in this server (the router mints it)."""
        with span("store write", {"polystack.store": self.table, "polystack.durability": self.durability}):
            await self._record(completion, input_messages, metadata, owner, upstream_id)

    async def _record(self, completion: ChatCompletion, input_messages: Sequence[Any],
                      metadata: dict[str, str] | None, owner: User | None, upstream_id: str | None) -> None:
        row = {
            "id": completion.id,
            "created": completion.created,
            "stored_at": time.time_ns(),
            "model": completion.model,
            "completion": completion.model_dump(mode="json", exclude_unset=True),
            "input_messages": [m.model_dump(mode="json", exclude_none=True) if hasattr(m, "model_dump") else m
                               for m in input_messages],
            "metadata": metadata or None,
            "upstream_id": upstream_id,
            "__owner__": owner.model_dump() if owner else None,
        }
        if self.journal is not None:
            row["__segment__"] = self.journal.append(row)
        done = await self._queue.put(row)
        if self.durability != "commit":
            done.add_done_callback(lambda f: f.cancelled() or f.exception())
            return
        try:
            await asyncio.wait_for(asyncio.shield(done), self.commit_wait_seconds)
        except TimeoutError:
            logger.warning("completion %s is queued but not yet committed (database slow or down)", completion.id)

    # ---- reads ------------------------------------------------------------------------------------

    async def list(self, *, after: str | None, limit: int, model: str | None, order: Literal["asc", "desc"],
                   metadata: dict[str, str]) -> dict[str, Any]:
        """The completions the caller may read (the SQL store applies the access policy)."""
        await self._queue.barrier()  # read your own writes
        query = Query(
            where={"model": model} if model else {},
            json_equals={"metadata": metadata} if metadata else {},
            order_by=[("created", order), ("stored_at", order)],
            after=("id", after) if after else None,
            limit=limit,
        )
        page = await self.sql.fetch_all(self.table, query)
        data = [self._completion(row) for row in page.data]
        return {"object": "list", "data": data, "has_more": page.has_more,
                "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}

    async def get(self, completion_id: str) -> dict[str, Any]:
        """NotFoundError also when the caller may not read it: never a hint that it exists."""
        await self._queue.barrier()
        row = await self.sql.fetch_one(self.table, {"id": completion_id})
        if row is None:
            raise NotFoundError(f"No stored chat completion with id '{completion_id}'", param="completion_id")
        return self._completion(row)

    async def messages(self, completion_id: str, *, after: str | None, limit: int,
                       order: Literal["asc", "desc"]) -> dict[str, Any]:
        completion = await self.get(completion_id)
        messages = [{"id": f"{completion_id}-{index}", **message}
                    for index, message in enumerate(completion["input_messages"])]
        if order == "desc":
            messages.reverse()
        if after is not None:
            ids = [m["id"] for m in messages]
            if after not in ids:
                raise NotFoundError(f"No message with id '{after}' in completion '{completion_id}'", param="after")
            messages = messages[ids.index(after) + 1:]
        page = messages[:limit]
        return {"object": "list", "data": page, "has_more": len(messages) > limit,
                "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None}

    async def update_metadata(self, completion_id: str, metadata: dict[str, str] | None) -> dict[str, Any]:
        """Replace the metadata of a completion the caller may see (NotFoundError otherwise)."""
        await self.get(completion_id)
        await self.sql.update(self.table, {"metadata": metadata or None}, {"id": completion_id})
        return await self.get(completion_id)

    async def delete(self, completion_id: str) -> dict[str, Any]:
        await self.get(completion_id)
        await self.sql.delete(self.table, {"id": completion_id})
        return {"id": completion_id, "object": "chat.completion.deleted", "deleted": True}

    @staticmethod
    def _completion(row: dict[str, Any]) -> dict[str, Any]:
        body = dict(row["completion"])
        body["input_messages"] = row["input_messages"]
        if row.get("metadata"):
            body["metadata"] = row["metadata"]
        return body
