"""ModelRunner with plain Python jobs: one at a time, first come first served, stop flags, queue limit."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from polystack.apis.errors import ServiceUnavailableError
from polystack.providers.inline.inference.llama_cpp.runner import ModelRunner


class FakeLlama:
    closed = False

    def close(self) -> None:
        self.closed = True


def sleeper(log: list[str], label: str, seconds: float = 0.03) -> Callable[[threading.Event], str]:
    def job(stop: threading.Event) -> str:
        log.append(f"start {label}")
        time.sleep(seconds)
        log.append(f"end {label}")
        return label
    return job


async def test_jobs_run_one_at_a_time_in_arrival_order() -> None:
    runner: ModelRunner[str] = ModelRunner(FakeLlama(), "fake", max_queued=8)
    log: list[str] = []
    results = await asyncio.gather(*(runner.run(sleeper(log, str(i))) for i in range(4)))
    assert results == ["0", "1", "2", "3"]
    assert log == [f"{edge} {i}" for i in range(4) for edge in ("start", "end")]
    await runner.shutdown()


async def test_closing_a_stream_sets_the_stop_flag_and_the_next_job_waits_for_the_thread() -> None:
    runner: ModelRunner[int] = ModelRunner(FakeLlama(), "fake", max_queued=8)
    log: list[str] = []

    def counter(emit: Callable[[int], None], stop: threading.Event) -> None:
        for number in range(10_000):
            if stop.is_set():
                time.sleep(0.05)  # llama.cpp finishing its current token
                log.append("stopped")
                return
            emit(number)
            time.sleep(0.001)

    stream = runner.stream(counter)
    assert [await anext(stream), await anext(stream)] == [0, 1]
    await stream.aclose()
    await runner.run(sleeper(log, "next", 0))
    assert log == ["stopped", "start next", "end next"]
    await runner.shutdown()


async def test_a_failing_job_raises_in_the_caller_and_frees_the_model() -> None:
    runner: ModelRunner[int] = ModelRunner(FakeLlama(), "fake", max_queued=8)

    def broken(emit: Callable[[int], None], stop: threading.Event) -> None:
        emit(1)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _ = [item async for item in runner.stream(broken)]
    assert await runner.run(sleeper([], "after")) == "after"
    await runner.shutdown()


async def test_a_full_queue_is_refused_and_shutdown_closes_the_model() -> None:
    llama = FakeLlama()
    runner: ModelRunner[str] = ModelRunner(llama, "fake", max_queued=1)
    log: list[str] = []
    running = asyncio.create_task(runner.run(sleeper(log, "a", 0.2)))
    await asyncio.sleep(0.02)
    waiting = asyncio.create_task(runner.run(sleeper(log, "b", 0)))
    await asyncio.sleep(0.02)
    with pytest.raises(ServiceUnavailableError):
        await runner.run(sleeper(log, "c", 0))
    assert await asyncio.gather(running, waiting) == ["a", "b"]
    await runner.shutdown()
    assert llama.closed
    with pytest.raises(ServiceUnavailableError):
        await runner.run(sleeper(log, "d", 0))


async def wait_for(condition: Callable[[], bool], deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_with_two_slots_two_jobs_run_at_once_and_the_rest_start_in_arrival_order() -> None:
    """xllamacpp's slots: N generations in flight, the others queued first come, first served."""
    runner: ModelRunner[str] = ModelRunner(FakeLlama(), "fake", max_queued=8, slots=2)
    release = {label: threading.Event() for label in "abcd"}
    started: list[str] = []

    def held(label: str) -> Callable[[threading.Event], str]:
        def job(stop: threading.Event) -> str:
            started.append(label)
            release[label].wait(30)
            return label
        return job

    tasks = []
    for label in "abcd":
        tasks.append(asyncio.create_task(runner.run(held(label))))
        await asyncio.sleep(0)  # queued in this order
    await wait_for(lambda: len(started) == 2)
    assert sorted(started) == ["a", "b"] and runner.waiting == 2
    release["b"].set()
    await wait_for(lambda: len(started) == 3)
    assert started[2] == "c"  # the first waiting job takes the freed slot
    for event in release.values():
        event.set()
    assert await asyncio.gather(*tasks) == ["a", "b", "c", "d"]
    await runner.shutdown()
