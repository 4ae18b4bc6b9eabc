"""The audit table, its group-committed writer, and the process-wide sink the access checks call.

`record()` is synchronous and cheap (a dict appended to a list): a background task writes what has piled
up every `flush_seconds` in one transaction, off the request path. The table belongs to nobody (not an
owned table): only the admin API reads it. The sink is per process: the stack that serves the audit log
installs it at start and removes it at stop. With `include_content`, an entry recorded during a request
also holds that request's content (core/audit/content.py); entries for rows written behind their request
(`created_for`) never do, since by then the request, and the secrets to mask in it, are gone.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from polystack.apis.datatypes import User
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.audit.content import request_content
from polystack.core.request_context import request_context

logger = logging.getLogger("polystack.audit")

_metadata = sa.MetaData()
AUDIT = sa.Table(
    "polystack_audit_log", _metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # aud_<ns since epoch, 20 digits><hex>: time-ordered
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("principal", sa.String(300), index=True),
    sa.Column("key_id", sa.String(40)),
    sa.Column("action", sa.String(40), nullable=False, index=True),
    sa.Column("resource_type", sa.String(100), nullable=False, index=True),
    sa.Column("resource_id", sa.String(300)),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("request_id", sa.String(200)),
    sa.Column("content", sa.Text),  # only with include_content; added to tables made before it existed
)
MAX_PENDING = 100_000
COLUMNS = ("id", "created_at", "principal", "key_id", "action", "resource_type", "resource_id", "outcome",
           "request_id", "content")


class AuditLog:
    def __init__(self, engine: AsyncEngine, flush_seconds: float = 0.2, *, include_content: bool = False,
                 max_content_bytes: int = 8192) -> None:
        self._engine = engine
        self._flush_seconds = flush_seconds
        self.include_content = include_content
        self.max_content_bytes = max_content_bytes
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        await create_tables(self._engine, _metadata)
        await _add_content_column(self._engine)
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    def add(self, action: str, resource_type: str, resource_id: str | None, outcome: str,
            user: User | None = None) -> None:
        """Note an entry; `user` is given for rows written behind their request (then without content)."""
        context = request_context()
        content = request_content(self.max_content_bytes) if self.include_content and user is None else None
        user = user or context.user
        now = time.time()
        self._pending.append({
            "id": f"aud_{time.time_ns():020d}{secrets.token_hex(4)}", "created_at": now,
            "principal": user.principal if user is not None else None, "key_id": context.key_id,
            "action": action, "resource_type": resource_type, "resource_id": resource_id, "outcome": outcome,
            "request_id": context.request_id, "content": content})

    async def flush(self) -> None:
        """Write what is pending now (one transaction); kept for the next try if the database fails."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            async with self._engine.begin() as conn:
                await conn.execute(AUDIT.insert(), batch)
        except Exception:
            logger.exception("writing %d audit entries failed; retrying", len(batch))
            self._pending[:0] = batch
            if len(self._pending) > MAX_PENDING:  # a database down for long: memory stays bounded
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                logger.error("the audit log dropped its %d oldest unwritten entries", dropped)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            await self.flush()

    async def query(self, *, principal: str | None = None, action: str | None = None,
                    resource_type: str | None = None, since: float | None = None, after: str | None = None,
                    limit: int = 100) -> tuple[list[dict[str, Any]], bool]:
        await self.flush()  # what this replica recorded is visible to its own reader at once
        statement = sa.select(AUDIT)
        for column, value in (("principal", principal), ("action", action), ("resource_type", resource_type)):
            if value is not None:
                statement = statement.where(AUDIT.c[column] == value)
        if since is not None:
            statement = statement.where(AUDIT.c.created_at >= since)
        if after is not None:
            statement = statement.where(AUDIT.c.id > after)
        statement = statement.order_by(AUDIT.c.id).limit(limit + 1)
        async with self._engine.connect() as conn:
            rows = [dict(row._mapping) for row in await conn.execute(statement)]
        return rows[:limit], len(rows) > limit

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()
        await self._engine.dispose()


async def create_tables(engine: AsyncEngine, metadata: sa.MetaData) -> None:
    """CREATE the tables if missing; replicas starting together may race, so a failure is tried once more."""
    for attempt in (1, 2):
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            return
        except sa.exc.SQLAlchemyError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)


async def _add_content_column(engine: AsyncEngine) -> None:
    """The `content` column, on an audit table created before it existed (a replica racing us may add it first)."""

    def missing(conn: sa.Connection) -> bool:
        return "content" not in {column["name"] for column in sa.inspect(conn).get_columns(AUDIT.name)}

    async with engine.begin() as conn:
        if not await conn.run_sync(missing):
            return
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"ALTER TABLE {AUDIT.name} ADD COLUMN content TEXT"))
    except sa.exc.SQLAlchemyError:
        async with engine.begin() as conn:
            if await conn.run_sync(missing):
                raise


_sink: AuditLog | None = None


def install(log: AuditLog | None) -> None:
    global _sink
    _sink = log


def record(action: str, resource_type: str, resource_id: str | None, outcome: str) -> None:
    """Note an access decision (no-op when no audit log is served in this process)."""
    if _sink is not None:
        _sink.add(action, resource_type, resource_id, outcome)


def created_for(owner: User, resource_type: str, key: str, rows: list[dict[str, Any]]) -> None:
    """Note rows a store writes behind their request (chat completions), on behalf of their owner."""
    if _sink is not None and owner.principal != SYSTEM_PRINCIPAL:
        for row in rows:
            _sink.add("create", resource_type, str(row.get(key)), "allowed", user=owner)
