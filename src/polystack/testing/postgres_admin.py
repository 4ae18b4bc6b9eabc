"""The machine's shared PostgreSQL in tests: admin statements, and a throwaway database per test module."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from polystack.core.storage.config import PostgresSQLConfig

PG_HOST, PG_PORT = "127.0.0.1", 5432


async def admin_sql(sql: str, database: str = "postgres") -> None:
    """Run one statement as the superuser; a busy shared server fails the caller within a minute, never hangs it."""
    async with asyncio.timeout(60):
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database=database)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


async def create_database(prefix: str = "polystack_test", pool_max_size: int = 4) -> PostgresSQLConfig:
    """A new database of its own on the shared server, so parallel runs never collide; OSError when the server
    cannot be reached (the caller decides whether that skips or fails). Drop it with `drop_database`."""
    name = unused_database_name(prefix)
    await admin_sql(f'CREATE DATABASE "{name}"')
    return PostgresSQLConfig(host=PG_HOST, port=PG_PORT, db=name, pool_max_size=pool_max_size)


async def drop_database(config: PostgresSQLConfig | str) -> None:
    """Drop a database (its config or its name) if it exists, whoever is still connected."""
    name = config if isinstance(config, str) else config.db
    await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unused_database_name(prefix: str = "polystack_test") -> str:
    return f"{prefix}_{secrets.token_hex(6)}"
