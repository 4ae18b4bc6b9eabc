"""One contract for every KV backend: memory, SQLite, and PostgreSQL and Redis on the real local servers."""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from polystack.apis.errors import ServiceUnavailableError
from polystack.core.storage.config import (
    KVBackendConfig,
    MemoryKVConfig,
    PostgresKVConfig,
    RedisKVConfig,
    SqliteKVConfig,
)
from polystack.core.storage.kv.api import KVStore
from polystack.core.storage.kv.factory import open_kv_store
from polystack.core.storage.kv.namespace import NamespacedKVStore
from polystack.core.storage.kv.redis import INDEX_KEY
from polystack.testing.tcp_proxy import TcpProxy

ALL = ["memory", "sqlite", "postgres", "redis"]
SHARED = ["sqlite", "postgres", "redis"]  # a second store object reaches the same data
SERVERS = ["postgres", "redis"]
PG_PORT, REDIS_PORT = 5432, 6379
PASSWORD = "hunter2-not-for-logs"


def postgres_config(table: str, port: int = PG_PORT, password: str | None = None) -> PostgresKVConfig:
    return PostgresKVConfig(port=port, db="test", table_name=table, password=password,
                            pool_min_size=1, pool_max_size=4)


def redis_config(port: int = REDIS_PORT, password: str | None = None) -> RedisKVConfig:
    auth = f":{password}@" if password else ""
    return RedisKVConfig(url=f"redis://{auth}127.0.0.1:{port}/0")


@dataclass
class Backend:
    """One backend for one test: a unique namespace (and table), and every store it opened."""

    name: str
    config: KVBackendConfig
    namespace: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:12]}")
    opened: list[KVStore] = field(default_factory=list)

    async def open(self, namespace: str | None = "") -> KVStore:
        """A new store object on this backend; by default in the test's namespace."""
        store = await open_kv_store(self.config, self.namespace if namespace == "" else namespace)
        self.opened.append(store)
        return store

    async def cleanup(self) -> None:
        for store in self.opened:
            await store.close()
        if isinstance(self.config, PostgresKVConfig):
            conn = await asyncpg.connect(host="127.0.0.1", port=PG_PORT, user="postgres", database="test")
            await conn.execute(f'DROP TABLE IF EXISTS "{self.config.table_name}"')
            await conn.close()
        if isinstance(self.config, RedisKVConfig):  # never FLUSHDB: Redis is shared
            raw = await open_kv_store(self.config)
            for key in await raw.keys_with_prefix(self.namespace):
                await raw.delete(key)
            await raw.close()


@pytest.fixture(params=ALL)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    configs = {
        "memory": lambda: MemoryKVConfig(),
        "sqlite": lambda: SqliteKVConfig(db_path=str(tmp_path / "nested" / "folder" / "kv.db")),
        "postgres": lambda: postgres_config(f"kv_test_{uuid.uuid4().hex[:16]}"),
        "redis": lambda: redis_config(),
    }
    under_test = Backend(request.param, configs[request.param]())
    yield under_test
    await under_test.cleanup()


@pytest.fixture
async def store(backend: Backend) -> KVStore:
    return await backend.open()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- basic reads and writes -------------------------------------------------------------------


async def test_store_implements_the_protocol(store: KVStore) -> None:
    assert isinstance(store, KVStore)


async def test_set_get_overwrite_and_delete(store: KVStore) -> None:
    assert await store.get("k") is None
    await store.set("k", "v1")
    assert await store.get("k") == "v1"
    await store.set("k", "v2")
    assert await store.get("k") == "v2"
    await store.delete("k")
    assert await store.get("k") is None
    assert await store.keys_with_prefix("") == []


async def test_deleting_a_missing_key_is_not_an_error(store: KVStore) -> None:
    await store.delete("never-set")
    assert await store.get("never-set") is None


async def test_empty_string_value_is_present_not_missing(store: KVStore) -> None:
    await store.set("empty", "")
    assert await store.get("empty") == ""
    assert await store.values_with_prefix("") == [""]


async def test_unicode_keys_and_values_round_trip(store: KVStore) -> None:
    key, value = "ключ/日本語/😀", "значение ☃ \n\t\"quoted\" 'single' \\ back\\slash %s $1 ?"
    await store.set(key, value)
    assert await store.get(key) == value
    assert await store.keys_with_prefix("ключ/") == [key]


async def test_nul_and_control_characters_round_trip_in_keys_values_and_scans(store: KVStore) -> None:
    keys = ["k\x00", "k\x00\x01", "k\x01", "k\x01\x00", "k\x02", "ka"]  # bytewise order
    for key in reversed(keys):
        await store.set(key, f"v\x00{key}\x01")
    assert [await store.get(key) for key in keys] == [f"v\x00{key}\x01" for key in keys]
    assert await store.keys_with_prefix("k") == keys
    assert await store.keys_with_prefix("k\x00") == keys[:2]
    assert await store.keys_in_range("k\x00\x01", "k\x02") == keys[1:4]
    await store.delete("k\x00")
    assert await store.get("k\x00") is None and await store.get("k\x00\x01") is not None


async def test_one_megabyte_value_round_trips(store: KVStore) -> None:
    value = "😀é" * 175_000  # 1.05 MB of UTF-8
    await store.set("big", value)
    assert await store.get("big") == value
    assert await store.values_with_prefix("b") == [value]


# --- order, ranges and prefixes ---------------------------------------------------------------

# C/bytewise order: uppercase before lowercase, punctuation counts, U+E000 before U+1F600 (UTF-16
# order would differ), U+FFFF before U+10000.
ORDERED_KEYS = ["B", "a", "a b", "a-b", "a_b", "ab", "b", "é", "\ue000", "\uffff", "😀", "\U0010ffff"]


async def test_keys_sort_bytewise_by_utf8(store: KVStore) -> None:
    assert ORDERED_KEYS == sorted(ORDERED_KEYS, key=lambda key: key.encode())
    for key in reversed(ORDERED_KEYS):
        await store.set(key, f"value of {key}")
    assert await store.keys_with_prefix("") == ORDERED_KEYS
    assert await store.values_in_range("", "\U0010ffff\U0010ffff") == [f"value of {k}" for k in ORDERED_KEYS]


async def test_range_includes_start_and_excludes_end(store: KVStore) -> None:
    for key in ["a", "ab", "abc", "b", "ba"]:
        await store.set(key, key.upper())
    assert await store.keys_in_range("ab", "b") == ["ab", "abc"]
    assert await store.values_in_range("ab", "b") == ["AB", "ABC"]
    assert await store.keys_in_range("a", "ba") == ["a", "ab", "abc", "b"]
    assert await store.keys_in_range("aa", "az") == ["ab", "abc"]
    assert await store.keys_in_range("b", "b") == []
    assert await store.keys_in_range("b", "a") == []
    assert await store.values_in_range("x", "y") == []


async def test_prefix_scans_do_not_leak_into_longer_or_neighbouring_keys(store: KVStore) -> None:
    for key in ["a", "ab", "abc", "abd", "ac", "b"]:
        await store.set(key, key.upper())
    assert await store.keys_with_prefix("a") == ["a", "ab", "abc", "abd", "ac"]
    assert await store.keys_with_prefix("ab") == ["ab", "abc", "abd"]
    assert await store.values_with_prefix("ab") == ["AB", "ABC", "ABD"]
    assert await store.keys_with_prefix("abc") == ["abc"]
    assert await store.keys_with_prefix("abcd") == []
    assert await store.keys_with_prefix("") == ["a", "ab", "abc", "abd", "ac", "b"]


async def test_prefix_ending_in_the_highest_code_point_or_before_surrogates(store: KVStore) -> None:
    for key in ["a\U0010ffff", "a\U0010ffffz", "b", "\ud7ff", "\ud7ffx", "\ue000"]:
        await store.set(key, "v")
    assert await store.keys_with_prefix("a\U0010ffff") == ["a\U0010ffff", "a\U0010ffffz"]
    assert await store.keys_with_prefix("\ud7ff") == ["\ud7ff", "\ud7ffx"]


# --- expiry -----------------------------------------------------------------------------------


async def test_expired_keys_vanish_from_get_and_scans(store: KVStore) -> None:
    await store.set("gone", "1", ttl_seconds=0.3)
    await store.set("kept", "2")
    await store.set("made-permanent", "3", ttl_seconds=0.3)
    await store.set("made-permanent", "3b")  # an overwrite without ttl clears the ttl
    await store.set("extended", "4", ttl_seconds=0.3)
    await store.set("extended", "4b", ttl_seconds=60)
    assert await store.get("gone") == "1"
    assert await store.keys_with_prefix("") == ["extended", "gone", "kept", "made-permanent"]
    await asyncio.sleep(0.45)
    assert await store.get("gone") is None
    assert await store.keys_with_prefix("") == ["extended", "kept", "made-permanent"]
    assert await store.keys_in_range("a", "z") == ["extended", "kept", "made-permanent"]
    assert await store.values_with_prefix("") == ["4b", "2", "3b"]
    assert await store.values_in_range("g", "h") == []


async def test_an_expired_key_can_be_set_again(store: KVStore) -> None:
    await store.set("k", "old", ttl_seconds=0.2)
    await asyncio.sleep(0.3)
    await store.set("k", "new")
    assert await store.get("k") == "new"
    assert await store.keys_with_prefix("") == ["k"]


@pytest.mark.parametrize("ttl", [0, -1])
async def test_non_positive_ttl_is_rejected(store: KVStore, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await store.set("k", "v", ttl_seconds=ttl)


# --- namespaces and concurrency ---------------------------------------------------------------


async def test_namespaces_on_one_backend_do_not_see_each_other(backend: Backend) -> None:
    raw = await backend.open(namespace=None)
    first = NamespacedKVStore(raw, f"{backend.namespace}-a")
    second = NamespacedKVStore(raw, f"{backend.namespace}-ab")  # one namespace prefixes the other
    await first.set("k", "first")
    await second.set("k", "second")
    await first.set("z", "first-z")
    assert await first.get("k") == "first"
    assert await second.get("k") == "second"
    assert await first.keys_with_prefix("") == ["k", "z"]
    assert await second.keys_in_range("", "\U0010ffff") == ["k"]
    assert await second.values_with_prefix("") == ["second"]
    await second.delete("k")
    assert await first.get("k") == "first"
    assert await raw.get(f"{backend.namespace}-a:k") == "first"


async def test_closing_a_view_leaves_the_shared_backend_open(backend: Backend) -> None:
    raw = await backend.open(namespace=None)
    view = NamespacedKVStore(raw, backend.namespace)
    await view.set("k", "v")
    await view.close()
    assert await NamespacedKVStore(raw, backend.namespace).get("k") == "v"


async def test_invalid_namespace_is_rejected_before_connecting() -> None:
    for namespace in ["", "a:b"]:
        with pytest.raises(ValueError, match="namespace"):
            await open_kv_store(postgres_config("unused", port=unused_port()), namespace)


async def test_hundred_concurrent_writers_are_all_readable(store: KVStore) -> None:
    keys = [f"key-{i:03d}" for i in range(100)]
    await asyncio.gather(*(store.set(key, f"value-{key}") for key in keys))
    assert await store.keys_with_prefix("key-") == keys
    values = await asyncio.gather(*(store.get(key) for key in keys))
    assert values == [f"value-{key}" for key in keys]


# --- persistence ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", SHARED, indirect=True)
async def test_a_second_store_object_sees_the_data(backend: Backend) -> None:
    writer, reader = await backend.open(), await backend.open()
    await writer.set("shared", "yes")
    await writer.set("temporary", "soon gone", ttl_seconds=60)
    assert await reader.get("shared") == "yes"
    assert await reader.keys_with_prefix("") == ["shared", "temporary"]
    await reader.delete("shared")
    assert await writer.get("shared") is None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_data_survives_close_and_reopen(backend: Backend) -> None:
    first = await backend.open()
    await first.set("k", "kept")
    await first.close()
    await first.close()  # closing twice is harmless
    with pytest.raises(ServiceUnavailableError, match="closed"):
        await first.get("k")
    reopened = await backend.open()
    assert await reopened.get("k") == "kept"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_acknowledged_write_survives_kill_9_of_another_process(backend: Backend) -> None:
    ours = await backend.open()  # two processes on one file at once
    child = f"""
import asyncio
from polystack.core.storage.config import SqliteKVConfig
from polystack.core.storage.kv.factory import open_kv_store

async def main():
    config = SqliteKVConfig.model_validate({backend.config.model_dump()!r})
    store = await open_kv_store(config, {backend.namespace!r})
    await store.set("from-child", "durable")
    print("written", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", child, stdout=asyncio.subprocess.PIPE)
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"written\n"  # type: ignore[union-attr]
        assert await ours.get("from-child") == "durable"
    finally:
        proc.kill()
        await proc.wait()
    reopened = await backend.open()
    assert await reopened.get("from-child") == "durable"
    await ours.set("after-crash", "writable")  # the killed writer left no lock behind
    assert await reopened.get("after-crash") == "writable"


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
async def test_redis_scans_drop_expired_keys_from_the_index(backend: Backend) -> None:
    import redis.asyncio as aioredis

    store = await backend.open()
    await store.set("short", "v", ttl_seconds=0.2)
    await asyncio.sleep(0.3)
    assert await store.keys_with_prefix("") == []
    client = aioredis.Redis(port=REDIS_PORT)
    try:
        assert await client.zscore(INDEX_KEY, f"{backend.namespace}:short") is None
    finally:
        await client.aclose()


# --- unavailable backends ---------------------------------------------------------------------


async def test_sqlite_path_that_cannot_be_created_raises_503_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    db_path = str(tmp_path / "a-file" / "kv.db")
    with pytest.raises(ServiceUnavailableError) as raised:
        await open_kv_store(SqliteKVConfig(db_path=db_path))
    assert f"kv_sqlite at {db_path}" in raised.value.message


@pytest.mark.parametrize("server", SERVERS)
async def test_unreachable_server_at_startup_raises_503_with_address_and_no_password(server: str) -> None:
    port = unused_port()
    config = postgres_config("t", port, PASSWORD) if server == "postgres" else redis_config(port, PASSWORD)
    with pytest.raises(ServiceUnavailableError) as raised:
        await open_kv_store(config, "ns")
    error = raised.value
    assert error.status_code == 503
    assert f"kv_{server} at 127.0.0.1:{port}" in error.message
    assert PASSWORD not in error.message
    assert PASSWORD not in str(error.to_body())


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
async def test_outage_at_run_time_raises_503_naming_the_store_then_recovers(backend: Backend) -> None:
    proxy = TcpProxy(PG_PORT if backend.name == "postgres" else REDIS_PORT)
    await proxy.start()
    proxied: KVBackendConfig = (backend.config.model_copy(update={"port": proxy.port})
                                if isinstance(backend.config, PostgresKVConfig) else redis_config(proxy.port))
    store = await open_kv_store(proxied, backend.namespace)
    await store.set("k", "before")
    await proxy.stop()
    for operation in (store.get("k"), store.set("k", "during"), store.keys_with_prefix("")):
        with pytest.raises(ServiceUnavailableError) as raised:
            await operation
        assert f"KV store kv_{backend.name} at 127.0.0.1:{proxy.port}" in raised.value.message
        assert "is unavailable" in raised.value.message
    await proxy.start()  # the database is back, on the same port
    try:
        assert await store.get("k") == "before"
        await store.set("k", "after")
        assert await store.values_with_prefix("") == ["after"]
    finally:
        await store.close()
        await proxy.stop()
