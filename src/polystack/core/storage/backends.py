"""Opens each configured storage backend once and hands stores out of it."""

from __future__ import annotations

import logging

from polystack.core.storage.config import (
    KVStoreReference,
    MemoryKVConfig,
    PostgresKVConfig,
    PostgresSQLConfig,
    RedisKVConfig,
    SqliteKVConfig,
    SqliteSQLConfig,
    SQLStoreReference,
    StorageConfig,
)
from polystack.core.storage.kv.api import KVStore
from polystack.core.storage.kv.memory import MemoryKVStore
from polystack.core.storage.kv.namespace import NamespacedKVStore
from polystack.core.storage.sql.api import SQLStore

logger = logging.getLogger("polystack.storage")


class Storage:
    """The run config's backends, opened lazily, one connection pool per backend."""

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self._kv: dict[str, KVStore] = {}
        self._sql: dict[str, SQLStore] = {}

    async def kv(self, reference: KVStoreReference | None, default_namespace: str) -> KVStore:
        """The store of `reference`, or an in-memory one when the config names none."""
        if reference is None:
            return MemoryKVStore()
        if reference.backend not in self._kv:
            from polystack.core.storage.kv.factory import open_kv_store

            backend = self.config.backends[reference.backend]
            if not isinstance(backend, MemoryKVConfig | SqliteKVConfig | PostgresKVConfig | RedisKVConfig):
                raise ValueError(f"backend '{reference.backend}' is {backend.type}, not a kv_* backend")
            self._kv[reference.backend] = await open_kv_store(backend, None)
        return NamespacedKVStore(self._kv[reference.backend], reference.namespace or default_namespace)

    async def sql(self, reference: SQLStoreReference) -> SQLStore:
        if reference.backend not in self._sql:
            from polystack.core.storage.sql.factory import open_sql_store

            backend = self.config.backends[reference.backend]
            if not isinstance(backend, SqliteSQLConfig | PostgresSQLConfig):
                raise ValueError(f"backend '{reference.backend}' is {backend.type}, not a sql_* backend")
            self._sql[reference.backend] = await open_sql_store(backend)
        return self._sql[reference.backend]

    async def close(self) -> None:
        stores: list[KVStore | SQLStore] = [*self._kv.values(), *self._sql.values()]
        for store in stores:
            try:
                await store.close()
            except Exception:
                logger.exception("closing a storage backend failed")
        self._kv.clear()
        self._sql.clear()
