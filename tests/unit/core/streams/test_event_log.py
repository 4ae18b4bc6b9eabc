"""The event log on every KV backend: numbered appends, reads after a number, following live, and replicas."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from polystack.core.storage.config import MemoryKVConfig, PostgresKVConfig, RedisKVConfig, SqliteKVConfig
from polystack.core.storage.kv.api import KVStore
from polystack.core.storage.kv.factory import open_kv_store
from polystack.core.streams.event_log import EventLog, UnknownStreamError


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    """Opens stores on one backend, in a namespace (and table) of this test only; a second call reaches the
    same data, like another replica (except for memory, which is per process)."""
    namespace = f"ev{uuid.uuid4().hex[:12]}"
    table = f"events_{uuid.uuid4().hex[:12]}"
    config = {"memory": MemoryKVConfig(), "sqlite": SqliteKVConfig(db_path=str(tmp_path / "kv.db")),
              "postgres": PostgresKVConfig(db="test", table_name=table, pool_min_size=1, pool_max_size=2),
              "redis": RedisKVConfig(url="redis://127.0.0.1:6379/0")}[request.param]
    opened: list[KVStore] = []
    shared: list[KVStore] = []

    async def open_one() -> KVStore:
        if request.param == "memory" and shared:
            return shared[0]
        store = await open_kv_store(config, namespace)
        opened.append(store)
        shared.append(store)
        return store

    yield open_one
    for store in opened:
        for key in await store.keys_with_prefix(""):
            await store.delete(key)
        await store.close()
    if request.param == "postgres":
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test")
        await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        await conn.close()


async def test_appends_are_numbered_from_zero_and_read_back_after_a_number(open_store):
    log = EventLog(await open_store())
    await log.create("job1")
    numbers = [(await log.append("job1", "progress", {"step": i})).sequence_number for i in range(12)]
    assert numbers == list(range(12))
    after = await log.read_after("job1", 9)
    assert [(e.sequence_number, e.name, e.data) for e in after] == [(10, "progress", {"step": 10}),
                                                                  (11, "progress", {"step": 11})]
    assert [e.sequence_number for e in await log.read_after("job1", -1)] == list(range(12))


async def test_jobs_do_not_see_each_others_events(open_store):
    log = EventLog(await open_store())
    for job in ("a", "ab", "b"):
        await log.create(job)
        await log.append(job, f"from.{job}")
    assert [e.name for e in await log.read_after("a", -1)] == ["from.a"]


async def test_a_follower_gets_the_missing_events_then_live_ones_until_the_stream_finishes(open_store):
    log = EventLog(await open_store(), poll_interval=5)  # a local follower is woken, it does not poll
    await log.create("job")
    for i in range(3):
        await log.append("job", "tick", {"i": i})
    seen: list[int] = []

    async def follow() -> None:
        async for event in log.follow("job", after=0):
            seen.append(event.sequence_number)

    follower = asyncio.create_task(follow())
    await _until(lambda: seen == [1, 2])
    await log.append("job", "tick", {"i": 3})
    await _until(lambda: seen == [1, 2, 3], within=1)  # well before the 5 s poll: the append woke it
    await log.finish("job")
    await asyncio.wait_for(follower, 1)
    assert seen == [1, 2, 3]


async def test_a_follower_on_another_replica_polls_and_a_restarted_producer_continues_the_numbering(open_store):
    producer = EventLog(await open_store())
    await producer.create("job")
    await producer.append("job", "first")
    other_replica = EventLog(await open_store(), poll_interval=0.02)
    follower = asyncio.create_task(_collect(other_replica.follow("job")))
    restarted = EventLog(await open_store())  # a new process takes over the job
    assert (await restarted.append("job", "second")).sequence_number == 1
    await restarted.finish("job")
    events = await asyncio.wait_for(follower, 2)
    assert [(e.sequence_number, e.name) for e in events] == [(0, "first"), (1, "second")]


async def test_following_an_unknown_job_fails_and_a_finished_empty_stream_ends_at_once(open_store):
    log = EventLog(await open_store())
    with pytest.raises(UnknownStreamError):
        await _collect(log.follow("never-created"))
    await log.create("empty")
    await log.finish("empty")
    assert await asyncio.wait_for(_collect(log.follow("empty")), 1) == []


async def test_job_ids_that_would_mix_keys_are_refused(open_store):
    log = EventLog(await open_store())
    for bad in ("", "a/b", "nul\x00"):
        with pytest.raises(ValueError):
            await log.create(bad)


async def _collect(events: AsyncIterator[object]) -> list:
    return [event async for event in events]


async def _until(condition, within: float = 5) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), within)
