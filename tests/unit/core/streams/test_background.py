"""Background producers: every event reaches the log, and however a producer ends, its stream ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from polystack.apis.errors import QuotaExceededError
from polystack.apis.events import StreamEvent
from polystack.core.storage.kv.memory import MemoryKVStore
from polystack.core.streams.background import BackgroundStreams
from polystack.core.streams.event_log import EventLog


async def events(count: int, delay: float = 0.0, error: Exception | None = None) -> AsyncIterator[StreamEvent]:
    for i in range(count):
        await asyncio.sleep(delay)
        yield StreamEvent("tick", {"i": i})
    if error is not None:
        raise error


@pytest.fixture
def streams() -> BackgroundStreams:
    return BackgroundStreams(EventLog(MemoryKVStore()))


async def names(streams: BackgroundStreams, job: str) -> list[str]:
    return [event.name async for event in streams.log.follow(job)]


async def test_a_finished_producer_finishes_its_stream(streams):
    await (await streams.start("job", events(3)))
    assert await names(streams, "job") == ["tick", "tick", "tick"]
    assert await streams.log.is_finished("job") and not streams.running("job")


async def test_a_failing_producer_ends_its_stream_with_the_errors_event(streams):
    await (await streams.start("job", events(2, error=QuotaExceededError("over quota"))))
    stored = await streams.log.read_after("job", -1)
    assert [e.name for e in stored] == ["tick", "tick", "error"]
    assert stored[-1].data == {"code": QuotaExceededError.code or QuotaExceededError.error_type,
                               "message": "over quota", "param": None}


async def test_an_unexpected_failure_is_logged_but_its_details_stay_out_of_the_stream(streams, caplog):
    await (await streams.start("job", events(1, error=RuntimeError("token=sk-secret"))))
    last = (await streams.log.read_after("job", -1))[-1]
    assert last.name == "error" and "sk-secret" not in str(last.data)
    assert "stream producer for job failed" in caplog.text


async def test_a_cancelled_or_shut_down_producer_ends_its_stream_with_a_503_event(streams):
    await streams.start("cancelled", events(100, delay=0.01))
    await streams.start("shut-down", events(100, delay=0.01))
    await asyncio.sleep(0.05)
    assert streams.cancel("cancelled") and not streams.cancel("unknown")
    await streams.close()
    for job in ("cancelled", "shut-down"):
        stored = await asyncio.wait_for(names(streams, job), 1)  # ends: the log is finished
        assert stored[-1] == "error" and 0 < stored.count("tick") < 100
        assert (await streams.log.read_after(job, -1))[-1].data["code"] == "service_unavailable"


async def test_one_job_id_has_one_producer_at_a_time(streams):
    await streams.start("job", events(5, delay=0.01))
    with pytest.raises(ValueError):
        await streams.start("job", events(1))
    await streams.close()
