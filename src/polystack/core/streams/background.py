"""Background producers: a job's events written to its EventLog by a task no connection owns."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable

from polystack.apis.errors import PolystackError, ServiceUnavailableError
from polystack.apis.events import StreamEvent, error_event
from polystack.core.streams.event_log import EventLog

logger = logging.getLogger("polystack.streams")

_STOPPED = ServiceUnavailableError("the job was stopped before it finished")
_INTERNAL = PolystackError("internal error while producing the stream")


class BackgroundStreams:
    """Runs each job's producer as its own task, so the work goes on when its client disconnects.

    Every event the producer yields is appended to the log (numbered there). When the producer ends the
    stream is finished; when it raises, or is cancelled (`cancel`, `close` at shutdown), the stream ends
    with an `error` event instead, so followers never wait on a job that will not produce any more.
    """

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self, job_id: str, events: AsyncIterable[StreamEvent]) -> asyncio.Task[None]:
        """Create the job's stream (so followers may subscribe at once) and start producing into it."""
        if job_id in self._tasks:
            raise ValueError(f"A producer is already running for {job_id!r}")
        await self.log.create(job_id)
        task = asyncio.create_task(self._produce(job_id, events), name=f"stream-producer:{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))
        return task

    def running(self, job_id: str) -> bool:
        return job_id in self._tasks

    def cancel(self, job_id: str) -> bool:
        """Stop a job's producer; its stream ends with an error event. False when none is running."""
        task = self._tasks.get(job_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def close(self) -> None:
        """Stop every producer (server shutdown) and wait until each has written its last event."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _produce(self, job_id: str, events: AsyncIterable[StreamEvent]) -> None:
        try:
            async for event in events:
                await self.log.append(job_id, event.name, event.data)
        except asyncio.CancelledError:
            await self._end_with_error(job_id, _STOPPED)
            raise
        except PolystackError as exc:
            await self._end_with_error(job_id, exc)
        except Exception:  # followers must see the stream end, never wait forever
            logger.exception("stream producer for %s failed", job_id)
            await self._end_with_error(job_id, _INTERNAL)
        else:
            await self.log.finish(job_id)
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _end_with_error(self, job_id: str, error: PolystackError) -> None:
        event = error_event(error)
        await self.log.append(job_id, event.name, event.data)
        await self.log.finish(job_id)
