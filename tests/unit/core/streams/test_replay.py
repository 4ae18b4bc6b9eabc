"""The stream endpoint's iterator: checks first (so `respond` answers them as plain 4xx), then replay and follow."""

from __future__ import annotations

import asyncio

import pytest

from polystack.apis.errors import InvalidRequestError, NotFoundError
from polystack.core.storage.kv.memory import MemoryKVStore
from polystack.core.streams.event_log import EventLog
from polystack.core.streams.replay import stream_from_log


@pytest.fixture
async def log() -> EventLog:
    log = EventLog(MemoryKVStore())
    await log.create("job")
    for i in range(4):
        await log.append("job", "tick", {"i": i})
    return log


async def test_unknown_jobs_and_malformed_ids_are_not_found(log):
    for job in ("other", "a/b", ""):
        with pytest.raises(NotFoundError):
            await anext(stream_from_log(log, job))


async def test_a_negative_starting_after_is_an_invalid_request_naming_it(log):
    with pytest.raises(InvalidRequestError) as refused:
        await anext(stream_from_log(log, "job", -1))
    assert refused.value.param == "starting_after"


async def test_replays_after_starting_after_then_follows_until_finished(log):
    events = stream_from_log(log, "job", 1)
    assert [(await anext(events)).sequence_number for _ in range(2)] == [2, 3]
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # nothing new yet: it waits rather than ending
    await log.append("job", "done")
    assert (await asyncio.wait_for(waiting, 1)).sequence_number == 4
    await log.finish("job")
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(events), 1)


async def test_without_starting_after_every_event_is_replayed(log):
    await log.finish("job")
    assert [e.sequence_number async for e in stream_from_log(log, "job")] == [0, 1, 2, 3]
