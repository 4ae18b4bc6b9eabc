"""Background responses (`background: true`): one job per response on the job runner, its events in an event log.

POST answers at once with the stored response, status `queued`. A replica's job runner claims the job, runs
the engine's event generator acting as the caller, appends every event to the EventLog under the response
id (so any replica can stream it, from the start or after `starting_after`) and keeps the stored response's
status current: queued -> in_progress -> completed | failed | incomplete | cancelled.

A response is never re-run once it has produced events: the model call would repeat output that followers
have already read. So a job that finds events of an earlier attempt in the log (its replica died, or was
stopped, mid-response) marks the response `failed` with an error that says so and ends the log with
`response.failed`. A job whose earlier attempt died before its first event simply runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic_core import to_jsonable_python

from polystack.apis.datatypes import User
from polystack.apis.errors import InvalidRequestError, NotFoundError, PolystackError
from polystack.apis.events import StreamEvent
from polystack.apis.responses.types import CreateResponseRequest, ResponseError, ResponseObject
from polystack.core.access.policy import AccessPolicy
from polystack.core.jobs.runner import JobContext, JobRunner, JobStopped, StopReason
from polystack.core.request_context import acting_as, request_context
from polystack.core.responses.engine import ResponsesEngine
from polystack.core.responses.run import ResponseRun
from polystack.core.responses.store import ResponsesStore
from polystack.core.streams.event_log import EventLog
from polystack.core.streams.replay import stream_from_log

logger = logging.getLogger("polystack.responses")

KIND = "responses.background"
EVENT_TTL_SECONDS = 24 * 3600.0  # how long a background response's events can be streamed again
ACTIVE = ("queued", "in_progress")
INTERRUPTED = ("The server running this background response stopped before it finished. It was not run again, "
               "because the output it had already streamed would be repeated; create a new response.")


def _jsonable(data: Any) -> dict[str, Any]:
    """An event's data as plain JSON (its items are pydantic models until they are written)."""
    plain: dict[str, Any] = to_jsonable_python(data, by_alias=True)
    return plain


class BackgroundResponses:
    """Creates, runs, streams and cancels background responses; registers its job kind on the runner."""

    def __init__(self, engine: ResponsesEngine, store: ResponsesStore, runner: JobRunner, log: EventLog,
                 policy: AccessPolicy) -> None:
        self.engine = engine
        self.store = store
        self.runner = runner
        self.log = log
        self.policy = policy  # the server's access policy: a job acts as its caller under it
        runner.register(KIND, self.run)

    # ---- the routes' side ------------------------------------------------------------------

    async def create(self, request: CreateResponseRequest) -> ResponseObject | AsyncIterator[StreamEvent]:
        """Check the request now (a bad one is a plain 4xx), store it queued, queue its job."""
        if not request.store:
            raise InvalidRequestError("Background responses must be stored: background=true requires store=true",
                                      param="store")
        foreground = request.model_copy(update={"background": False, "stream": False})
        run = await self.engine.start(foreground)
        response = run.response
        response.status = "queued"
        response.background = True
        await self._save(response.model_dump(mode="json"), run)
        await self.log.create(response.id)
        user = request_context().user
        await self.runner.submit(KIND, {
            "response_id": response.id,
            "request": foreground.model_dump(mode="json", by_alias=True, exclude_unset=True)
            | {"background": False, "stream": False},
            "user": user.model_dump(mode="json") if user is not None else None,
        }, key=response.id, job_id=response.id)
        if request.stream:
            return stream_from_log(self.log, response.id)
        return response

    async def stream(self, response_id: str, starting_after: int | None) -> AsyncIterator[StreamEvent]:
        """The response's events after `starting_after` (all without it), then live ones until it ends."""
        row = await self.store.row(response_id)
        if not row["response"].get("background"):
            raise InvalidRequestError("Only responses created with background=true can be streamed again",
                                      param="stream")
        return stream_from_log(self.log, response_id, starting_after)

    async def cancel(self, response_id: str) -> dict[str, Any]:
        """Cancel a queued or running background response, wherever it runs; idempotent once cancelled."""
        row = await self.store.row(response_id)  # another caller's response is a 404 here
        response: dict[str, Any] = row["response"]
        if not response.get("background"):
            raise InvalidRequestError("Only responses created with background=true can be cancelled",
                                      param="response_id")
        if response["status"] == "cancelled":
            return response
        if response["status"] not in ACTIVE:
            raise InvalidRequestError(f"Cannot cancel a {response['status']} response", param="response_id")
        job = await self.runner.cancel(response_id)
        if job is not None and not job.done:  # it runs on another replica: stopped at its next heartbeat
            with contextlib.suppress(TimeoutError):
                await self.runner.wait(response_id, timeout=self.runner.lease_seconds + self.runner.heartbeat_seconds)
        row = await self.store.row(response_id)
        if row["response"]["status"] in ACTIVE:  # cancelled while queued, or its replica is gone: end it here
            await self._end(row, "cancelled")
            row = await self.store.row(response_id)
        done: dict[str, Any] = row["response"]
        return done

    async def current(self, row: dict[str, Any]) -> dict[str, Any]:
        """The stored response, ended here if its job ended without ending it (the runner gave up after its
        attempts, or the handler crashed on a database error): a poll never sees it stuck in progress."""
        response: dict[str, Any] = row["response"]
        if not response.get("background") or response["status"] not in ACTIVE:
            return response
        job = await self.runner.get(response["id"])
        if job is None or not job.done:
            return response
        fresh = await self.store.row(response["id"])
        if fresh["response"]["status"] not in ACTIVE:  # it ended between the two reads
            ended: dict[str, Any] = fresh["response"]
            return ended
        if job.status == "cancelled":
            await self._end(fresh, "cancelled")
        else:
            message = f"The background job ended without finishing the response: {job.error or job.status}"
            await self._end(fresh, "failed", ResponseError(code="server_error", message=message))
        done: dict[str, Any] = (await self.store.row(response["id"]))["response"]
        return done

    # ---- the job ---------------------------------------------------------------------------

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        """The job's handler: produce the response's events into its log, acting as its caller."""
        payload = ctx.job.payload
        user = User.model_validate(payload["user"]) if payload.get("user") else None
        with acting_as(user, self.policy):
            return await self._run(ctx, payload["response_id"], payload["request"])

    async def _run(self, ctx: JobContext, response_id: str, raw_request: dict[str, Any]) -> dict[str, Any]:
        try:
            row = await self.store.row(response_id)
        except NotFoundError:
            return {"skipped": "the response was deleted"}
        if row["response"]["status"] not in ACTIVE:
            return {"skipped": f"the response is {row['response']['status']}"}
        if await self.log.read_after(response_id, -1):  # an earlier attempt streamed part of it
            await self._end(row, "failed", ResponseError(code="server_error", message=INTERRUPTED))
            return {"response_status": "failed", "reason": "interrupted"}
        try:
            run = await self.engine.start(CreateResponseRequest.model_validate(raw_request), response_id=response_id)
        except PolystackError as exc:  # e.g. its previous response was deleted since it was queued
            await self._end(row, "failed", ResponseError(code="server_error", message=exc.message, param=exc.param,
                                                         type=exc.error_type))
            return {"response_status": "failed"}
        run.response.background = True
        run.response.created_at = row["response"]["created_at"]
        run.replace_stored = True  # its queued row is replaced by the finished response
        run.stream_upstream = True  # followers of its event log see the tokens as they come
        events = run.events()
        try:
            async for event in events:
                if event.name == "response.in_progress":
                    await self._save(run.response.model_dump(mode="json"), run)
                await self.log.append(response_id, event.name, _jsonable(event.data))
                ctx.checkpoint()
        except (asyncio.CancelledError, JobStopped):
            await self._stopped(ctx, response_id)
            raise
        finally:
            await _close(events)
        await self.log.finish(response_id)
        return {"response_status": run.response.status}

    async def _stopped(self, ctx: JobContext, response_id: str) -> None:
        """Cancelled: the response is `cancelled` and its stream ends. This server stops: once it has produced
        events it is failed now (they cannot be repeated), else it is left queued to run again. Its lease was
        lost: another replica owns it, write nothing."""
        if ctx.stop_reason == StopReason.LEASE_LOST:
            return
        try:
            row = await self.store.row(response_id)
            if row["response"]["status"] not in ACTIVE:
                return
            if ctx.stop_reason == StopReason.CANCELLED:
                await self._end(row, "cancelled")
            elif await self.log.read_after(response_id, -1):
                await self._end(row, "failed", ResponseError(code="server_error", message=INTERRUPTED))
            # else nothing was produced yet: the job goes back to the queue and runs whole elsewhere or later
        except Exception:  # the runner records the job's end whatever happens here
            logger.exception("background response %s: could not record how it stopped", response_id)

    # ---- the stored response and its log ----------------------------------------------------

    async def _save(self, response: dict[str, Any], run: ResponseRun) -> None:
        inputs = [item.model_dump(mode="json") for item in run.input_items]
        await self.store.save_again(response, inputs, run.context.messages)

    async def _end(self, row: dict[str, Any], status: str, error: ResponseError | None = None) -> None:
        """Give the stored response its final status; a failure ends its stream with response.failed."""
        response = dict(row["response"], status=status)
        if error is not None:
            response["error"] = error.model_dump(mode="json")
        await self.store.save_again(response, row["input_items"], row["messages"])
        with contextlib.suppress(LookupError):  # its stream expired: nothing to end
            await self.log.is_finished(response["id"])
            if status == "failed":
                await self.log.append(response["id"], "response.failed", {"response": response})
            await self.log.finish(response["id"])


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    """Close the engine's generator now (its cleanup runs here, not at garbage collection)."""
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
