"""The job runner on SQLite and on the real PostgreSQL: exactly-once claims, leases, cancel, resume, bounds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from polystack.core.jobs.records import Job, JobRecords, JobStatus
from polystack.core.jobs.runner import JobContext, JobRunner
from polystack.core.storage.config import SQLBackendConfig, SqliteSQLConfig
from polystack.core.storage.sql.factory import open_sql_store
from polystack.testing.postgres_admin import PG_HOST, PG_PORT, create_database, drop_database

FAST = {"lease_seconds": 1.0, "heartbeat_seconds": 0.2, "poll_seconds": 0.1}


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[SQLBackendConfig]:
    if request.param == "sqlite":
        yield SqliteSQLConfig(db_path=str(tmp_path / "jobs.db"))
        return
    try:
        config = await create_database("polystack_jobs")
    except OSError:
        pytest.skip(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    yield config
    await drop_database(config)


@pytest.fixture
async def replicas(backend: SQLBackendConfig) -> AsyncIterator[Callable[..., Awaitable[JobRunner]]]:
    """Make runners as separate replicas would: each with its own store (its own connections)."""
    made: list[tuple[JobRunner, Any]] = []

    async def make(handlers: dict[str, Any] | None = None, *, start: bool = True, **options: Any) -> JobRunner:
        store = await open_sql_store(backend)
        records = JobRecords(store)
        await records.migrate()
        runner = JobRunner(records, **{**FAST, **options})
        for kind, handler in (handlers or {}).items():
            runner.register(kind, handler)
        if start:
            await runner.start()
        made.append((runner, store))
        return runner

    yield make
    for runner, store in made:
        await runner.stop()
        await store.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def blocked(ctx: JobContext) -> dict[str, Any]:
    await asyncio.Event().wait()
    return {}


async def test_each_job_runs_exactly_once_among_competing_replicas(replicas) -> None:
    ran: list[tuple[str, str]] = []

    async def work(ctx: JobContext) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        ran.append((ctx.job.id, ctx.job.lease_owner or ""))
        return {"n": ctx.job.payload["n"]}

    submitter = await replicas(start=False)
    jobs = [await submitter.submit("work", {"n": n}) for n in range(24)]
    runners = [await replicas({"work": work}, concurrency=3) for _ in range(4)]
    for job in jobs:
        done = await submitter.wait(job.id, timeout=30)
        assert done.status == JobStatus.SUCCEEDED and done.result == {"n": job.payload["n"]}
        assert done.attempts == 1 and done.lease_owner is None
    assert sorted(job_id for job_id, _ in ran) == sorted(job.id for job in jobs)  # no job twice
    assert {owner for _, owner in ran} <= {runner.owner for runner in runners}


async def test_a_replica_runs_no_more_than_its_concurrency(replicas) -> None:
    active, peak = 0, 0

    async def work(ctx: JobContext) -> dict[str, Any]:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.1)
        active -= 1
        return {}

    runner = await replicas({"work": work}, concurrency=2)
    jobs = [await runner.submit("work", {}) for _ in range(6)]
    for job in jobs:
        assert (await runner.wait(job.id, timeout=20)).status == JobStatus.SUCCEEDED
    assert peak == 2


async def test_a_job_whose_replica_died_is_resumed_once_by_one_replica(replicas) -> None:
    resumed: list[tuple[str, bool, int]] = []

    async def work(ctx: JobContext) -> dict[str, Any]:
        resumed.append((ctx.job.lease_owner or "", ctx.resumed, ctx.job.attempts))
        return {"saw_progress": ctx.job.progress}

    dead = await replicas(start=False)
    job = await dead.submit("work", {})
    # the dead replica's claim: running, with some progress, under a lease that nobody renews any more
    claimed = await dead.records.swap(job, status=JobStatus.RUNNING, lease_owner="dead", attempts=1,
                                      lease_expires_at=time.time() + 0.5)
    assert claimed is not None and await dead.records.save_progress(claimed, {"done": 3})
    await asyncio.sleep(0.2)
    assert (await dead.get(job.id)).status == JobStatus.RUNNING  # not before its lease expires
    for _ in range(3):
        await replicas({"work": work})
    done = await dead.wait(job.id, timeout=20)
    assert done.status == JobStatus.SUCCEEDED and done.attempts == 2
    assert done.result == {"saw_progress": {"done": 3}}  # a resumed handler sees how far the last one got
    assert len(resumed) == 1 and resumed[0][1:] == (True, 2)


async def test_a_job_that_keeps_dying_fails_after_max_attempts(replicas) -> None:
    runner = await replicas(start=False, max_attempts=2)
    job = await runner.submit("work", {})
    await runner.records.swap(job, status=JobStatus.RUNNING, lease_owner="dead", attempts=2,
                              lease_expires_at=time.time() - 1)
    runner.register("work", blocked)
    await runner.start()
    done = await runner.wait(job.id, timeout=10)
    assert done.status == JobStatus.FAILED and "gave up after 2 attempts" in (done.error or "")


async def test_a_cancel_sent_to_another_replica_stops_the_job_at_its_next_heartbeat(replicas) -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def work(ctx: JobContext) -> dict[str, Any]:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()
        return {}

    running = await replicas({"work": work})
    other = await replicas(start=False)  # registers nothing: it only answers the API
    job = await running.submit("work", {})
    await asyncio.wait_for(started.wait(), 10)
    begun = time.monotonic()
    await other.cancel(job.id)
    await asyncio.wait_for(stopped.wait(), 5)
    assert time.monotonic() - begun < 1.0  # a heartbeat is 0.2 s here
    await eventually(lambda: _status_is(other, job.id, JobStatus.CANCELLED))
    assert running.running == []


async def test_a_cancelled_queued_job_never_runs(replicas) -> None:
    ran: list[str] = []

    async def work(ctx: JobContext) -> dict[str, Any]:
        ran.append(ctx.job.id)
        return {}

    submitter = await replicas(start=False)
    job = await submitter.submit("work", {})
    assert (await submitter.cancel(job.id)).status == JobStatus.CANCELLED
    runner = await replicas({"work": work})
    marker = await runner.submit("work", {})
    await runner.wait(marker.id, timeout=10)
    assert ran == [marker.id]


async def test_a_replica_that_loses_its_lease_stops_the_work_and_writes_nothing(replicas) -> None:
    started, interrupted = asyncio.Event(), asyncio.Event()

    async def work(ctx: JobContext) -> dict[str, Any]:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            interrupted.set()
            raise
        return {}

    runner = await replicas({"work": work})
    job = await runner.submit("work", {})
    await asyncio.wait_for(started.wait(), 10)
    current = await runner.get(job.id)
    assert current is not None
    taken = await runner.records.swap(current, lease_owner="thief", lease_expires_at=time.time() + 60)
    assert taken is not None
    await asyncio.wait_for(interrupted.wait(), 5)
    await eventually(lambda: _true(runner.running == []))
    after = await runner.get(job.id)
    assert after is not None and after.lease_owner == "thief" and after.status == JobStatus.RUNNING


async def test_stopping_a_replica_hands_its_jobs_back_without_spending_an_attempt(replicas) -> None:
    started = asyncio.Event()

    async def slow(ctx: JobContext) -> dict[str, Any]:
        started.set()
        await asyncio.Event().wait()
        return {}

    first = await replicas({"work": slow})
    job = await first.submit("work", {})
    await asyncio.wait_for(started.wait(), 10)
    await first.stop()
    back = await first.get(job.id)
    assert back is not None and back.status == JobStatus.QUEUED and back.attempts == 0

    async def quick(ctx: JobContext) -> dict[str, Any]:
        return {"by": ctx.job.lease_owner}

    second = await replicas({"work": quick})
    done = await second.wait(job.id, timeout=10)
    assert done.status == JobStatus.SUCCEEDED and done.result == {"by": second.owner} and done.attempts == 1


async def test_progress_is_persisted_and_published(replicas) -> None:
    seen: list[tuple[JobStatus, dict[str, Any]]] = []

    async def hook(job: Job) -> None:
        seen.append((job.status, dict(job.progress)))

    async def work(ctx: JobContext) -> dict[str, Any]:
        for step in range(3):
            await ctx.progress({"step": step})
        return {}

    runner = await replicas({"work": work}, on_progress=hook)
    job = await runner.submit("work", {})
    done = await runner.wait(job.id, timeout=10)
    assert done.progress == {"step": 2}
    await eventually(lambda: _true(bool(seen) and seen[-1][0] == JobStatus.SUCCEEDED))
    assert [p for status, p in seen if status == JobStatus.RUNNING][1:] == [{"step": 0}, {"step": 1}, {"step": 2}]


async def test_a_failing_handler_fails_its_job_with_the_error_and_the_runner_goes_on(replicas) -> None:
    async def broken(ctx: JobContext) -> dict[str, Any]:
        raise ValueError("the input was bad (postgresql://app:hunter2@db/x)")

    async def fine(ctx: JobContext) -> dict[str, Any]:
        return {"ok": True}

    runner = await replicas({"broken": broken, "fine": fine})
    failed = await runner.wait((await runner.submit("broken", {})).id, timeout=10)
    assert failed.status == JobStatus.FAILED and failed.error is not None
    assert failed.error.startswith("ValueError: the input was bad") and "hunter2" not in failed.error
    assert (await runner.wait((await runner.submit("fine", {})).id, timeout=10)).result == {"ok": True}


async def test_submitting_with_the_same_id_twice_queues_one_job(replicas) -> None:
    a, b = await replicas(start=False), await replicas(start=False)
    first, second = await asyncio.gather(a.submit("work", {"n": 1}, job_id="job_fixed"),
                                         b.submit("work", {"n": 1}, job_id="job_fixed"))
    assert first.id == second.id == "job_fixed"
    assert await a.records.sql.count("polystack_jobs") == 1


def test_a_heartbeat_must_be_shorter_than_the_lease() -> None:
    with pytest.raises(ValueError, match="heartbeat_seconds"):
        JobRunner(JobRecords(None), lease_seconds=1, heartbeat_seconds=1)  # type: ignore[arg-type]


async def _status_is(runner: JobRunner, job_id: str, status: JobStatus) -> bool:
    job = await runner.get(job_id)
    return job is not None and job.status == status


async def _true(value: bool) -> bool:
    return value
