"""The stream endpoint's half: replay a job's events after `starting_after`, then follow it live."""

from __future__ import annotations

from collections.abc import AsyncIterator

from polystack.apis.errors import InvalidRequestError, NotFoundError
from polystack.apis.events import StreamEvent
from polystack.core.streams.event_log import EventLog, UnknownStreamError, check_job_id


async def stream_from_log(log: EventLog, job_id: str, starting_after: int | None = None) -> AsyncIterator[StreamEvent]:
    """What `GET /v1/<jobs>/{id}?stream=true&starting_after=N` returns, for `respond` to write as SSE.

    The checks run when the first event is pulled, which `respond` does before answering: an unknown job
    is a plain 404 and a negative `starting_after` a 400. Then come exactly the events numbered above
    `starting_after` (all of them without it), in order, and live ones until the job's stream ends.
    """
    if starting_after is not None and starting_after < 0:
        raise InvalidRequestError("starting_after must be a sequence number (0 or more)", param="starting_after")
    try:
        check_job_id(job_id)
        await log.is_finished(job_id)
    except (ValueError, UnknownStreamError):
        raise NotFoundError(f"No stream found for {job_id!r}") from None
    async for event in log.follow(job_id, -1 if starting_after is None else starting_after):
        yield event
