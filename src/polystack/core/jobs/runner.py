"""JobRunner: claims jobs under a lease, heartbeats them, cancels them from any replica, resumes dead ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Any

from polystack.core.jobs.records import Job, JobRecords, JobStatus
from polystack.core.secrets import public_message

logger = logging.getLogger("polystack.jobs")

Handler = Callable[["JobContext"], Coroutine[Any, Any, dict[str, Any] | None]]
ProgressHook = Callable[[Job], Awaitable[None]]


class StopReason(StrEnum):
    CANCELLED = "cancelled"  # someone asked, on any replica
    LEASE_LOST = "lease_lost"  # another replica took the job: this one must not write any more
    STOPPING = "stopping"  # this server shuts down: the job goes back to the queue


class JobStopped(Exception):
    """Raised by JobContext.checkpoint() once the job must stop; the runner knows why."""


class JobContext:
    """What a handler gets: its job, a way to report progress, and checkpoints that stop it when it must."""

    def __init__(self, job: Job, runner: JobRunner) -> None:
        self.job = job
        self.stop_reason: StopReason | None = None
        self._runner = runner
        self._task: asyncio.Task[Any] | None = None

    @property
    def resumed(self) -> bool:
        """Whether an earlier attempt started this job (a handler re-running it must not duplicate its work)."""
        return self.job.attempts > 1

    def checkpoint(self) -> None:
        """Raise JobStopped if the job was cancelled, its lease lost or the server is stopping."""
        if self.stop_reason is not None:
            raise JobStopped(self.stop_reason.value)

    async def stop_if_cancelled(self) -> None:
        """Read the cancel flag now rather than at the next heartbeat; raise JobStopped if someone asked."""
        fresh = await self._runner.records.get(self.job.id)
        if fresh is not None and fresh.cancel_requested and self.stop_reason is None:
            self.stop_reason = StopReason.CANCELLED
        self.checkpoint()

    async def progress(self, values: dict[str, Any]) -> None:
        """Persist the job's progress (while its lease is ours) and tell the on_progress hook."""
        self.checkpoint()
        self.job.progress = dict(values)
        if not await self._runner.records.save_progress(self.job, self.job.progress):
            self.interrupt(StopReason.LEASE_LOST)
            self.checkpoint()
        await self._runner.publish(self.job)

    def interrupt(self, reason: StopReason) -> None:
        """Stop the handler now: its task is cancelled at its next await."""
        if self.stop_reason is None:
            self.stop_reason = reason
        if self._task is not None:
            self._task.cancel()


class JobRunner:
    """Runs the jobs of registered kinds, at most `concurrency` at once in this process.

    A job is claimed by a compare-and-swap on its lease, so exactly one replica runs it. Its lease
    lasts `lease_seconds` and is renewed every `heartbeat_seconds`; each heartbeat also reads the job's
    cancel flag. A job whose lease expired (its replica died) is claimed again by one replica, at most
    `max_attempts` times in all; then it fails with an error that says so.
    """

    def __init__(self, records: JobRecords, *, concurrency: int = 2, lease_seconds: float = 10.0,
                 heartbeat_seconds: float = 1.5, poll_seconds: float = 1.0, max_attempts: int = 3,
                 on_progress: ProgressHook | None = None, owner: str | None = None) -> None:
        if heartbeat_seconds >= lease_seconds:
            raise ValueError("heartbeat_seconds must be shorter than lease_seconds, or leases lapse while held")
        self.records = records
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.on_progress = on_progress
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._handlers: dict[str, Handler] = {}
        self._running: dict[str, tuple[JobContext, asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    # ---- the seam -----------------------------------------------------------------------------

    def register(self, kind: str, handler: Handler) -> None:
        """Run jobs of `kind` with `handler`; register every kind before start()."""
        if kind in self._handlers:
            raise ValueError(f"a handler for job kind '{kind}' is registered already")
        self._handlers[kind] = handler

    async def submit(self, kind: str, payload: dict[str, Any], *, key: str | None = None,
                     job_id: str | None = None) -> Job:
        """Queue a job; any replica running this kind may take it. A given `job_id` makes this idempotent."""
        job = await self.records.create(kind, payload, key=key, job_id=job_id)
        self._wake.set()
        return job

    async def get(self, job_id: str) -> Job | None:
        return await self.records.get(job_id)

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a job wherever it runs: at once here, at the running replica's next heartbeat elsewhere."""
        job = await self.records.get(job_id)
        if job is None or job.done:
            return job
        await self.records.request_cancel(job_id)
        if job.status == JobStatus.QUEUED:
            cancelled = await self.records.swap(job, status=JobStatus.CANCELLED, cancel_requested=True)
            if cancelled is not None:
                await self.publish(cancelled)
                return cancelled
        local = self._running.get(job_id)
        if local is not None:
            ctx, task = local
            ctx.interrupt(StopReason.CANCELLED)
            await asyncio.gather(task, return_exceptions=True)
        return await self.records.get(job_id)

    async def cancel_key(self, key: str) -> None:
        """Cancel every unfinished job on `key` (e.g. one file of one vector store)."""
        for job in await self.records.by_key(key):
            await self.cancel(job.id)

    async def wait(self, job_id: str, timeout: float) -> Job:  # noqa: ASYNC109 - callers pass a deadline, not a scope
        """The job once it has finished; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                job = await self.records.get(job_id)
                if job is None:
                    raise LookupError(f"no job '{job_id}'")
                if job.done:
                    return job
                await asyncio.sleep(0.1)

    async def publish(self, job: Job) -> None:
        if self.on_progress is None:
            return
        try:
            await self.on_progress(job)
        except Exception:  # a listener never breaks the job
            logger.exception("the on_progress hook failed for job %s", job.id)

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop is None:
            self._loop = asyncio.create_task(self._claim_loop(), name=f"jobs {self.owner}")

    async def stop(self) -> None:
        """Stop claiming, interrupt running jobs and hand them back to the queue for another replica."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        running = list(self._running.values())
        for ctx, _ in running:
            ctx.interrupt(StopReason.STOPPING)
        await asyncio.gather(*(task for _, task in running), return_exceptions=True)

    @property
    def running(self) -> list[str]:
        """Ids of the jobs this process runs now."""
        return list(self._running)

    # ---- claiming -----------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._claim_some()
            except Exception:  # e.g. the database blinked: try again at the next poll
                logger.exception("claiming jobs failed")
            with contextlib.suppress(TimeoutError):
                # not wait_for: on Python 3.11 it swallows a cancel (stop()) that races a wake-up (a submit)
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def _claim_some(self) -> None:
        free = self.concurrency - len(self._running)
        if free <= 0 or not self._handlers:
            return
        for job in await self.records.candidates(list(self._handlers), time.time(), free + len(self._running)):
            if len(self._running) >= self.concurrency:
                return
            if job.id in self._running:
                continue
            claimed = await self._claim(job)
            if claimed is not None:
                ctx = JobContext(claimed, self)
                task = asyncio.create_task(self._run(ctx), name=f"job {claimed.kind} {claimed.id}")
                self._running[claimed.id] = (ctx, task)
                await self.publish(claimed)

    async def _claim(self, job: Job) -> Job | None:
        """The job, now ours; None if another replica was first, or the job ends here (cancelled, exhausted)."""
        if job.cancel_requested:
            await self._finish(job, status=JobStatus.CANCELLED)
            return None
        attempts = job.attempts + 1
        if attempts > self.max_attempts:
            await self._finish(job, status=JobStatus.FAILED,
                               error=f"gave up after {job.attempts} attempts: each ended without finishing")
            return None
        return await self.records.swap(job, status=JobStatus.RUNNING, lease_owner=self.owner, attempts=attempts,
                                       lease_expires_at=time.time() + self.lease_seconds)

    # ---- running ------------------------------------------------------------------------------

    async def _run(self, ctx: JobContext) -> None:
        job = ctx.job
        work: asyncio.Task[dict[str, Any] | None] = asyncio.create_task(self._handlers[job.kind](ctx))
        ctx._task = work
        beat = asyncio.create_task(self._heartbeats(ctx))
        try:
            try:
                result = await work
            except (asyncio.CancelledError, JobStopped):
                await self._stopped(ctx)
            except Exception as exc:  # the job fails, never the runner
                logger.exception("job %s (%s) failed", job.id, job.kind)
                error = public_message(f"{type(exc).__name__}: {exc}")  # a job's error is for its caller to read
                await self._finish(ctx.job, status=JobStatus.FAILED, error=error)
            else:
                await self._finish(ctx.job, status=JobStatus.SUCCEEDED, result=result or {})
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            self._running.pop(job.id, None)
            self._wake.set()

    async def _stopped(self, ctx: JobContext) -> None:
        if ctx.stop_reason == StopReason.CANCELLED:
            await self._finish(ctx.job, status=JobStatus.CANCELLED)
        elif ctx.stop_reason == StopReason.LEASE_LOST:
            logger.warning("job %s: lost its lease to another replica; stopped here", ctx.job.id)
        else:  # stopping: back to the queue, without spending an attempt
            await self._finish(ctx.job, status=JobStatus.QUEUED, attempts=max(ctx.job.attempts - 1, 0))

    async def _finish(self, job: Job, *, status: JobStatus, **changes: Any) -> None:
        done = await self.records.swap(job, status=status, lease_owner=None, lease_expires_at=None, **changes)
        if done is None:
            logger.warning("job %s: another replica took it before it could be marked %s", job.id, status.value)
            return
        await self.publish(done)

    async def _heartbeats(self, ctx: JobContext) -> None:
        """Renew the lease and read the cancel flag until the job ends; stop the job if either says so."""
        held_until = time.time() + self.lease_seconds
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                fresh = await self.records.heartbeat(ctx.job, self.lease_seconds)
            except Exception:  # the database blinked: keep working while the lease holds
                logger.warning("job %s: heartbeat failed", ctx.job.id, exc_info=True)
                if time.time() >= held_until:
                    ctx.interrupt(StopReason.LEASE_LOST)
                    return
                continue
            if fresh is None:
                ctx.interrupt(StopReason.LEASE_LOST)
                return
            held_until = fresh.lease_expires_at or held_until
            ctx.job.lease_expires_at = fresh.lease_expires_at
            if fresh.cancel_requested:
                ctx.job.cancel_requested = True
                ctx.interrupt(StopReason.CANCELLED)
                return
