"""Opens each configured storage backend once and hands stores out of it."""

from __future__ import annotations

import logging

from polystack.core.storage.config import KVStoreReference, SQLStoreReference, StorageConfig
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

            self._kv[reference.backend] = await open_kv_store(self.config.backends[reference.backend], None)
        return NamespacedKVStore(self._kv[reference.backend], reference.namespace or default_namespace)

    async def sql(self, reference: SQLStoreReference) -> SQLStore:
        if reference.backend not in self._sql:
            from polystack.core.storage.sql.factory import open_sql_store

            self._sql[reference.backend] = await open_sql_store(self.config.backends[reference.backend])  # type: ignore[arg-type]
        return self._sql[reference.backend]

    async def close(self) -> None:
        for store in [*self._kv.values(), *self._sql.values()]:
            try:
                await store.close()
            except Exception:
                logger.exception("closing a storage backend failed")
        self._kv.clear()
        self._sql.clear()
