"""The migrations ledger: which version each component reached, and the lock that serializes DDL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from polystack.core.storage.sql.schema import MIGRATIONS, build_table

LEDGER = build_table(MIGRATIONS, sa.MetaData())


async def current_version(conn: AsyncConnection, component: str) -> int:
    stmt = sa.select(sa.func.max(LEDGER.c.version)).where(LEDGER.c.component == component)
    return int((await conn.execute(stmt)).scalar() or 0)


async def record(conn: AsyncConnection, component: str, version: int) -> None:
    values = {"component": component, "version": version, "applied_at": datetime.now(UTC)}
    await conn.execute(LEDGER.insert().values(values))


async def all_versions(conn: AsyncConnection) -> dict[str, int]:
    stmt = sa.select(LEDGER.c.component, sa.func.max(LEDGER.c.version)).group_by(LEDGER.c.component)
    return {component: int(version) for component, version in (await conn.execute(stmt)).all()}


async def lock(conn: AsyncConnection, name: str) -> None:
    """Hold `name` until the transaction ends, across processes.

    PostgreSQL takes a transaction-level advisory lock; SQLite needs nothing here because the
    transaction began with BEGIN IMMEDIATE, which already holds the database's write lock.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(name))))


def lock_key(name: str) -> int:
    """A stable signed 64-bit key (Python's hash() differs between processes)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
