"""A bounded write-behind queue with group commit: writers batch rows into one transaction.

Nothing is ever dropped: a full queue makes producers wait (backpressure), a failing database is
retried with backoff until it comes back, and `close()` drains what is pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from polystack.apis.errors import ServiceUnavailableError

logger = logging.getLogger("polystack.storage")

WriteBatch = Callable[[list[dict[str, Any]]], Awaitable[None]]
OnRejected = Callable[[dict[str, Any], Exception], None]


class WriteQueue:
    def __init__(self, write: WriteBatch, *, max_size: int, writers: int, max_batch: int = 256,
                 linger_seconds: float = 0.0, name: str = "store", on_rejected: OnRejected | None = None) -> None:
        """`linger_seconds`: how long a writer waits to fill a batch; worth it when nobody awaits the commit.
        `on_rejected(row, error)` is told of each row the database refuses (default: an error is logged)."""
        self._write = write
        self._on_rejected = on_rejected
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None]] | None] = asyncio.Queue(max_size)
        self._writers = writers
        self._max_batch = max_batch
        self._linger = linger_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._name = name
        self._closing = False
        self._pending: set[asyncio.Future[None]] = set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(), name=f"{self._name}-writer-{i}")
                       for i in range(self._writers)]

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def put(self, row: dict[str, Any]) -> asyncio.Future[None]:
        """Queue a row (waiting while the queue is full); the future resolves once it is committed."""
        if self._closing:
            raise ServiceUnavailableError(f"{self._name} is shutting down")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.add(done)
        done.add_done_callback(self._pending.discard)
        await self._queue.put((row, done))
        return done

    async def barrier(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - bounded barrier
        """Wait until every row queued so far is written, so a read that follows sees them."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            batch = [item]
            if self._linger:
                await asyncio.sleep(self._linger)
            while len(batch) < self._max_batch and not self._queue.empty():
                extra = self._queue.get_nowait()
                if extra is None:
                    self._queue.put_nowait(None)  # leave the stop marker for this or another writer
                    self._queue.task_done()
                    break
                batch.append(extra)
            await self._commit(batch)
            for _ in batch:
                self._queue.task_done()

    async def _commit(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        error = await self._write_retrying([row for row, _ in batch])
        if error is None:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
        elif len(batch) == 1:
            self._reject(*batch[0], error)
        else:  # one bad row must not take the others down: find it
            logger.warning("%s: a batch of %d records failed (%s); writing them one by one",
                           self._name, len(batch), error)
            for item in batch:
                await self._commit([item])

    async def _write_retrying(self, rows: list[dict[str, Any]]) -> Exception | None:
        """Write `rows`, waiting out an unavailable database; the error if the database refuses them."""
        delay = 0.05
        while True:
            try:
                await self._write(rows)
                return None
            except ServiceUnavailableError as exc:
                logger.warning("%s: %d records wait for the database (%s); retrying in %.1fs",
                               self._name, len(rows), exc.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception as exc:  # noqa: BLE001 - a bad row must not stop the writer
                return exc

    def _reject(self, row: dict[str, Any], done: asyncio.Future[None], error: Exception) -> None:
        if self._on_rejected is None:
            logger.error("%s: record %s rejected: %s", self._name, row.get("id"), error)
        else:
            try:
                self._on_rejected(row, error)
            except Exception:
                logger.exception("%s: handling rejected record %s failed", self._name, row.get("id"))
        if not done.done():
            done.set_exception(error)

    async def close(self, timeout: float = 30) -> bool:  # noqa: ASYNC109 - bounded shutdown
        """Stop accepting rows and write everything pending (bounded by `timeout`); True if all were written."""
        self._closing = True
        for _ in self._tasks:
            await self._queue.put(None)
        try:
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout)
        except TimeoutError:
            logger.error("%s: %d records were still pending at shutdown", self._name, self._queue.qsize())
            for task in self._tasks:
                task.cancel()
            return False
        return True
