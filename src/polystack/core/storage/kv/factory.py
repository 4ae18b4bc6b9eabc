"""Open the KV store a config names: connect, create its table, wrap it in its namespace."""

from __future__ import annotations

import importlib
from types import ModuleType

from polystack.core.storage.config import (
    KVBackendConfig,
    MemoryKVConfig,
    PostgresKVConfig,
    RedisKVConfig,
    SqliteKVConfig,
)
from polystack.core.storage.kv.api import KVStore
from polystack.core.storage.kv.memory import MemoryKVStore
from polystack.core.storage.kv.namespace import NamespacedKVStore, check_namespace
from polystack.core.storage.kv.sqlite import SqliteKVStore


async def open_kv_store(config: KVBackendConfig, namespace: str | None = None) -> KVStore:
    """A ready store; a backend that cannot be reached raises ServiceUnavailableError naming its address.

    Each call opens its own connection (pool); the caller closes the store it gets.
    """
    if namespace is not None:
        check_namespace(namespace)  # before connecting, so a bad name leaks no connection
    store = await _open_backend(config)
    return store if namespace is None else NamespacedKVStore(store, namespace, owns_inner=True)


async def _open_backend(config: KVBackendConfig) -> KVStore:
    if isinstance(config, MemoryKVConfig):
        return MemoryKVStore()
    if isinstance(config, SqliteKVConfig):
        return await SqliteKVStore.open(config.db_path)
    if isinstance(config, PostgresKVConfig):
        from polystack.core.storage.postgres_database import ensure_database

        await ensure_database(config)
        store: KVStore = await _backend_module("postgres", "asyncpg").PostgresKVStore.open(config)
        return store
    if isinstance(config, RedisKVConfig):
        store = await _backend_module("redis", "redis").RedisKVStore.open(config)
        return store
    raise TypeError(f"Not a KV backend config: {type(config).__name__}")


def _backend_module(name: str, package: str) -> ModuleType:
    """Import a backend lazily, so its driver is needed only when a config uses it."""
    try:
        return importlib.import_module(f"polystack.core.storage.kv.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != package:
            raise
        raise ModuleNotFoundError(f"The kv_{name} backend needs {package}: pip install {package}",
                                  name=package) from exc
