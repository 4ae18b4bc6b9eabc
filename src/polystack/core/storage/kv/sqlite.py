"""A KV store in one SQLite file (WAL), driven from one worker thread so the event loop never blocks.

Durability: journal_mode=WAL with synchronous=FULL. NORMAL would already survive `kill -9` (a commit
is in the OS page cache when it returns) but can lose the last commits on power loss or an OS crash;
the KVStore contract says a write is durable when the call returns, and KV writes are few and small,
so FULL's one fsync per commit (~1-2 ms) is worth it. `busy_timeout` lets several processes share a file.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from polystack.apis.errors import ServiceUnavailableError
from polystack.core.storage.kv.base import ScanningKVStore, check_ttl
from polystack.core.storage.kv.errors import kv_unavailable

T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 10.0
BACKEND_TYPE = "kv_sqlite"
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kvstore (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)",
    "CREATE INDEX IF NOT EXISTS kvstore_expires_at ON kvstore (expires_at) WHERE expires_at IS NOT NULL",
)


class SqliteKVStore(ScanningKVStore):
    """Keys compare with SQLite's BINARY collation: memcmp of UTF-8, the bytewise order of the contract."""

    def __init__(self, db_path: str) -> None:
        self._path = db_path
        # One thread owns the connection: sqlite3 objects must not cross threads, and calls stay ordered.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    async def open(cls, db_path: str) -> SqliteKVStore:
        """Create the folder, the file and the table if missing."""
        store = cls(db_path)
        try:
            await store._call(store._connect)
        except BaseException:
            await store.close()
            raise
        return store

    def _connect(self) -> None:
        if self._path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self._path)), exist_ok=True)
        conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise ServiceUnavailableError(f"KV store {BACKEND_TYPE} at {self._path} is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # a caller's bug, not an outage
        except (sqlite3.DatabaseError, OSError) as exc:  # locked, I/O error, not a database, no such folder
            raise kv_unavailable(BACKEND_TYPE, self._path, exc) from exc

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        assert self._conn is not None
        return self._conn.execute(sql, params).fetchall()

    async def get(self, key: str) -> str | None:
        rows = await self._call(self._execute, f"SELECT value FROM kvstore WHERE key = ? AND {_LIVE}",
                                (key, time.time()))
        return rows[0][0] if rows else None

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        check_ttl(ttl_seconds)
        expires_at = None if ttl_seconds is None else time.time() + ttl_seconds
        await self._call(self._execute,
                         "INSERT INTO kvstore (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                         (key, value, expires_at))
        if self._purge_due():
            await self._call(self._execute, "DELETE FROM kvstore WHERE expires_at <= ?", (time.time(),))

    async def delete(self, key: str) -> None:
        await self._call(self._execute, "DELETE FROM kvstore WHERE key = ?", (key,))

    async def _select_between(self, column: str, start: str, end: str | None) -> list[str]:
        bound, params = ("", (start,)) if end is None else (" AND key < ?", (start, end))
        sql = f"SELECT {column} FROM kvstore WHERE key >= ?{bound} AND {_LIVE} ORDER BY key"
        rows = await self._call(self._execute, sql, (*params, time.time()))
        return [row[0] for row in rows]

    async def _keys_between(self, start: str, end: str | None) -> list[str]:
        return await self._select_between("key", start, end)

    async def _values_between(self, start: str, end: str | None) -> list[str]:
        return await self._select_between("value", start, end)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        """Idempotent: later calls raise ServiceUnavailableError."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            self._executor.shutdown(wait=False)
