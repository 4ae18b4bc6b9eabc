"""ModelRunner: one loaded model, its FIFO of requests, and the threads its llama.cpp work runs on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from polystack.apis.errors import ServiceUnavailableError

T = TypeVar("T")
R = TypeVar("R")

Emit = Callable[[T], None]


@dataclass
class _Failure:
    error: BaseException


_END = object()


class ModelRunner(Generic[T]):
    """Runs jobs on an engine, at most `slots` at once and the rest in arrival order, off the event loop.

    llama-cpp-python's `Llama` is not thread-safe: it has one slot, so one worker thread. xllamacpp
    decodes its slots' requests in one batch: N slots, N threads each blocked in its own request.
    A slot is an `asyncio.Semaphore` place (its waiters are woken first come, first served), freed
    when the worker thread finishes the job, not when the caller stops waiting: a cancelled caller
    sets the job's stop flag, and the next request starts as soon as llama.cpp has noticed it.
    """

    def __init__(self, engine: Any, name: str, *, max_queued: int, slots: int = 1) -> None:
        self.engine = engine
        self.name = name
        self.max_queued = max_queued
        self._slots = asyncio.Semaphore(slots)
        self._waiting = 0
        self._held = 0  # slots held by jobs, freed when their worker thread finishes
        self._executor = concurrent.futures.ThreadPoolExecutor(slots, thread_name_prefix=f"llama-cpp-{name}")
        self._stop_flags: set[threading.Event] = set()
        self._closed = False

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def busy_slots(self) -> int:
        """Slots held now: a job its caller gave up on holds its slot until llama.cpp has noticed the stop."""
        return self._held

    def _release_slot(self) -> None:
        self._held -= 1
        self._slots.release()

    def check_open(self) -> None:
        """Refuse early (before a stream starts) when the model is shut down or its queue is full."""
        if self._closed:
            raise ServiceUnavailableError(f"model '{self.name}' is shutting down")
        if self._waiting >= self.max_queued and self._slots.locked():
            raise ServiceUnavailableError(
                f"model '{self.name}' is busy with {self._waiting} requests waiting; try again later"
            )

    async def _acquire(self) -> None:
        self.check_open()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self._held += 1
        if self._closed:
            self._release_slot()
            raise ServiceUnavailableError(f"model '{self.name}' is shutting down")

    def _start(self, work: Callable[[threading.Event], R]) -> tuple[concurrent.futures.Future[R], threading.Event]:
        """Submit work holding a slot; the slot is released by the worker's completion."""
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        self._stop_flags.add(stop)

        def release(_: concurrent.futures.Future[R]) -> None:
            self._stop_flags.discard(stop)
            try:
                loop.call_soon_threadsafe(self._release_slot)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        try:
            future = self._executor.submit(work, stop)
        except RuntimeError:
            self._stop_flags.discard(stop)
            self._release_slot()
            raise ServiceUnavailableError(f"model '{self.name}' is shutting down") from None
        future.add_done_callback(release)
        return future, stop

    async def run(self, job: Callable[[threading.Event], R]) -> R:
        """Run `job(stop)` on a worker thread and return its result."""
        await self._acquire()
        future, stop = self._start(job)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            stop.set()
            raise

    async def stream(self, job: Callable[[Emit[T], threading.Event], None]) -> AsyncIterator[T]:
        """Run `job(emit, stop)` on a worker thread, yielding what it emits as it emits it.

        Closing the iterator (a client that went away) sets `stop`; the job checks it per token.
        """
        await self._acquire()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def work(stop: threading.Event) -> None:
            def emit(item: Any) -> None:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                except RuntimeError:  # the loop is gone: nobody is listening
                    stop.set()

            try:
                job(emit, stop)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
                emit(_Failure(exc))
            finally:
                emit(_END)

        _, stop = self._start(work)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()

    async def shutdown(self) -> None:
        """Stop running work, wait for the thread, and free the model's memory."""
        self._closed = True
        for flag in list(self._stop_flags):
            flag.set()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()
