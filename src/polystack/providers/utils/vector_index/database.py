"""One SQLite file of a vector index: a single writer connection behind a lock and a pool of readers (WAL).

pysqlite3 is preferred when installed: its SQLite is recent and can load extensions (sqlite-vec), which
the stdlib module of some Pythons cannot. Durability: WAL with synchronous=FULL, as in the KV store: a
write is durable when the call returns (one fsync per transaction, and writes come in batches).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")
BUSY_TIMEOUT_SECONDS = 10.0

Connection = Any  # sqlite3.Connection or pysqlite3.dbapi2.Connection: the same API, two classes


def sqlite_module() -> ModuleType:
    """pysqlite3's dbapi2 when installed, else the stdlib sqlite3."""
    try:
        from pysqlite3 import dbapi2
    except ModuleNotFoundError:
        import sqlite3

        return sqlite3
    return dbapi2


class Database:
    """Readers never wait for the writer (WAL); writers take turns on one connection, as SQLite allows one."""

    def __init__(self, path: str, on_connect: Callable[[Connection], None] | None = None) -> None:
        self.path = os.path.abspath(os.path.expanduser(path))
        self.sqlite = sqlite_module()
        self._on_connect = on_connect
        self._write_lock = threading.Lock()
        self._writer: Connection | None = None
        self._readers: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._all: list[Connection] = []
        self._all_lock = threading.Lock()

    def open(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        self._writer.execute("PRAGMA synchronous=FULL")

    def _connect(self) -> Connection:
        conn = self.sqlite.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                   check_same_thread=False)
        try:
            if self._on_connect is not None:
                self._on_connect(conn)
        except BaseException:
            conn.close()
            raise
        with self._all_lock:
            self._all.append(conn)
        return conn

    def write(self, work: Callable[[Connection], T], publish: Callable[[T], None] | None = None,
              publish_lock: AbstractContextManager[Any] | None = None) -> T:
        """Run `work` in a transaction (BEGIN IMMEDIATE); any exception rolls it all back.

        `publish` runs right after COMMIT, still holding the write lock, so in-memory state follows
        the commit order; `publish_lock` (a lock, or locks as one context manager) is held across COMMIT
        and `publish`, so whoever reads under it sees the database and the memory both before or both after.
        """
        if self._writer is None:
            raise RuntimeError(f"database {self.path} is not open")
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._writer)
                with publish_lock or nullcontext():
                    self._writer.execute("COMMIT")
                    if publish is not None:
                        publish(result)
            except BaseException:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise
            return result

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A read-only connection of the pool, for the duration of the block."""
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = self._connect()
            conn.execute("PRAGMA query_only=1")
        try:
            yield conn
        finally:
            self._readers.put(conn)

    def close(self) -> None:
        with self._all_lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
        self._writer = None
