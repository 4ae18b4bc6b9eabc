"""A KV store in one PostgreSQL table, over an asyncpg connection pool.

The key column is COLLATE "C", so its primary-key index orders bytewise (like the other backends) and
serves range and prefix scans. Expiry uses the database clock, so every replica agrees on it. Keys and
values are escaped for U+0000, which PostgreSQL text refuses, in an order-preserving way (nul_escape).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import asyncpg.exceptions as pg

from polystack.apis.errors import ServiceUnavailableError
from polystack.core.storage.config import PostgresKVConfig
from polystack.core.storage.kv.base import ScanningKVStore, check_ttl
from polystack.core.storage.kv.errors import kv_unavailable
from polystack.core.storage.sql.nul_escape import escape_text, unescape_text

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 10.0
# The server or the network is gone (or refusing): worth a 503, and the pool reconnects later.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, timed out
    pg.PostgresConnectionError,
    pg.CannotConnectNowError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.TooManyConnectionsError,
    pg.InterfaceError,  # "connection is closed"
)
# A pooled connection that died while idle: a read can safely run again on a fresh one.
_LOST_CONNECTION_ERRORS = (pg.ConnectionDoesNotExistError, pg.AdminShutdownError, pg.InterfaceError,
                           ConnectionResetError)
_LIVE = "(expires_at IS NULL OR expires_at > now())"


class PostgresKVStore(ScanningKVStore):
    """Table `config.table_name` (key TEXT COLLATE "C" PRIMARY KEY, value TEXT, expires_at TIMESTAMPTZ)."""

    def __init__(self, pool: asyncpg.Pool, config: PostgresKVConfig) -> None:
        self._pool = pool
        self._config = config
        self._table = f'"{config.table_name}"'  # the config pattern allows only [A-Za-z0-9_]

    @classmethod
    async def open(cls, config: PostgresKVConfig) -> PostgresKVStore:
        """Connect the pool and create the table; a server that cannot be reached raises a 503."""
        password = config.password.get_secret_value() if config.password else None
        try:
            pool = await asyncpg.create_pool(
                host=config.host, port=config.port, database=config.db, user=config.user, password=password,
                ssl=config.ssl_mode, min_size=config.pool_min_size,
                max_size=max(config.pool_max_size, config.pool_min_size), timeout=CONNECT_TIMEOUT_SECONDS)
        except (*_CONNECTION_ERRORS, pg.PostgresError) as exc:  # also bad password, missing database
            raise kv_unavailable(config.type, config.address(), exc, [password]) from exc
        store = cls(pool, config)
        try:
            await store._create_table()
        except BaseException:
            await store.close()
            raise
        return store

    async def _create_table(self) -> None:
        table, name = self._table, self._config.table_name

        async def create(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                # Two replicas starting together would race on CREATE TABLE IF NOT EXISTS's catalog rows.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)
                await conn.execute(f'CREATE TABLE IF NOT EXISTS {table} (key TEXT COLLATE "C" PRIMARY KEY, '
                                   "value TEXT NOT NULL, expires_at TIMESTAMPTZ)")
                await conn.execute(f'CREATE INDEX IF NOT EXISTS "{name[:52]}_expires" ON {table} '
                                   "(expires_at) WHERE expires_at IS NOT NULL")

        await self._run(create)

    def _unavailable(self, exc: BaseException) -> ServiceUnavailableError:
        password = self._config.password.get_secret_value() if self._config.password else None
        return kv_unavailable(self._config.type, self._config.address(), exc, [password])

    async def _run(self, op: Callable[[asyncpg.Connection], Awaitable[T]], *, retry: bool = False) -> T:
        """Run `op` on a pooled connection. With `retry` (reads only: never re-apply a write that may
        have committed), one connection lost while idle is replaced and the read runs again."""
        for attempt in range(2 if retry else 1):
            try:
                async with self._pool.acquire() as conn:
                    return await op(conn)
            except _LOST_CONNECTION_ERRORS as exc:
                if not retry or attempt == 1:
                    raise self._unavailable(exc) from exc
            except _CONNECTION_ERRORS as exc:
                raise self._unavailable(exc) from exc
        raise AssertionError("unreachable")

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def fetch(conn: asyncpg.Connection) -> list[asyncpg.Record]:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

        return await self._run(fetch, retry=True)

    async def _execute(self, sql: str, *args: Any) -> None:
        async def execute(conn: asyncpg.Connection) -> None:
            await conn.execute(sql, *args)

        await self._run(execute)

    async def get(self, key: str) -> str | None:
        rows = await self._fetch(f"SELECT value FROM {self._table} WHERE key = $1 AND {_LIVE}", escape_text(key))
        return unescape_text(rows[0]["value"]) if rows else None

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        check_ttl(ttl_seconds)
        await self._execute(
            f"INSERT INTO {self._table} (key, value, expires_at) "
            "VALUES ($1, $2, now() + $3::float8 * interval '1 second') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            escape_text(key), escape_text(value), ttl_seconds)
        if self._purge_due():
            await self._execute(f"DELETE FROM {self._table} WHERE expires_at <= now()")

    async def delete(self, key: str) -> None:
        await self._execute(f"DELETE FROM {self._table} WHERE key = $1", escape_text(key))

    async def _select_between(self, column: str, start: str, end: str | None) -> list[str]:
        bound, args = ("", (escape_text(start),)) if end is None else (" AND key < $2", (escape_text(start),
                                                                                        escape_text(end)))
        rows = await self._fetch(
            f"SELECT {column} FROM {self._table} WHERE key >= $1{bound} AND {_LIVE} ORDER BY key", *args)
        return [unescape_text(row[0]) for row in rows]

    async def _keys_between(self, start: str, end: str | None) -> list[str]:
        return await self._select_between("key", start, end)

    async def _values_between(self, start: str, end: str | None) -> list[str]:
        return await self._select_between("value", start, end)

    async def close(self) -> None:
        await self._pool.close()  # idempotent
