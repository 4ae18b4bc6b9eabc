"""The background responses job handler, run directly on its job (the runner stopped): what it does with a
response whose earlier attempt streamed part of it, one that was deleted or cancelled meanwhile, one whose
earlier attempt died before its first event, and one whose context is gone when it runs."""

from __future__ import annotations

from typing import Any

from polystack.core.jobs.runner import JobContext
from polystack.core.responses.background import INTERRUPTED, BackgroundResponses
from tests.unit.core.responses.conftest import MODEL, record


async def queued(stack: Any, **params: Any) -> tuple[BackgroundResponses, str]:
    """A background response left queued: the runner is stopped so the test runs the handler itself."""
    background: BackgroundResponses = stack.stack.impls["responses"]._background
    await background.runner.stop()
    created = await stack.openai.responses.create(model=MODEL, input="work", background=True, **params)
    assert created.status == "queued"
    return background, created.id


async def run_job(background: BackgroundResponses, response_id: str) -> dict[str, Any]:
    job = await background.runner.get(response_id)
    assert job is not None and job.kind == "responses.background"
    return await background.run(JobContext(job, background.runner))


async def test_a_response_an_earlier_attempt_streamed_part_of_is_failed_not_run_again(connect):
    async with connect([{"content": "never sent"}]) as stack:
        background, response_id = await queued(stack)
        recorder = record(stack)
        await background.log.append(response_id, "response.created", {"response": {"id": response_id}})
        assert await run_job(background, response_id) == {"response_status": "failed", "reason": "interrupted"}
        assert recorder.requests == []  # the model was not called again
        stored = await stack.openai.responses.retrieve(response_id)
        assert stored.status == "failed" and stored.error.message == INTERRUPTED
        events = await background.log.read_after(response_id, -1)
        assert [e.name for e in events] == ["response.created", "response.failed"]
        assert [e.sequence_number for e in events] == [0, 1]
        assert events[-1].data["response"]["status"] == "failed" and await background.log.is_finished(response_id)


async def test_a_job_whose_first_attempt_died_before_any_event_runs_whole(connect):
    async with connect([{"content": "all of it"}]) as stack:
        background, response_id = await queued(stack, metadata={"k": "v"})
        assert await run_job(background, response_id) == {"response_status": "completed"}
        stored = await stack.openai.responses.retrieve(response_id)
        assert stored.status == "completed" and stored.output_text == "all of it" and stored.metadata == {"k": "v"}
        events = await background.log.read_after(response_id, -1)
        assert events[0].name == "response.created" and events[-1].name == "response.completed"
        assert [e.sequence_number for e in events] == list(range(len(events)))
        assert await background.log.is_finished(response_id)


async def test_a_deleted_or_cancelled_response_is_skipped(connect):
    async with connect([{"content": "x"}]) as stack:
        background, response_id = await queued(stack)
        await stack.openai.responses.delete(response_id)
        assert await run_job(background, response_id) == {"skipped": "the response was deleted"}
        created = await stack.openai.responses.create(model=MODEL, input="again", background=True)
        assert (await stack.openai.responses.cancel(created.id)).status == "cancelled"
        assert await run_job(background, created.id) == {"skipped": "the response is cancelled"}


async def test_a_response_whose_previous_response_was_deleted_meanwhile_fails_with_the_reason(connect):
    async with connect([{"content": "first"}, {"content": "second"}]) as stack:
        first = await stack.openai.responses.create(model=MODEL, input="one")
        background, response_id = await queued(stack, previous_response_id=first.id)
        await stack.openai.responses.delete(first.id)
        assert await run_job(background, response_id) == {"response_status": "failed"}
        stored = await stack.openai.responses.retrieve(response_id)
        assert stored.status == "failed" and first.id in stored.error.message
        assert stored.error.param == "previous_response_id"
        events = await background.log.read_after(response_id, -1)
        assert [e.name for e in events] == ["response.failed"]


async def test_a_poll_ends_a_response_whose_job_ended_without_ending_it(connect):
    async with connect([{"content": "x"}]) as stack:
        background, response_id = await queued(stack)
        job = await background.runner.get(response_id)
        await background.runner.records.swap(job, status="failed", error="gave up after 3 attempts")
        polled = await stack.openai.responses.retrieve(response_id)
        assert polled.status == "failed" and "gave up after 3 attempts" in polled.error.message
        events = await background.log.read_after(response_id, -1)
        assert [e.name for e in events] == ["response.failed"] and await background.log.is_finished(response_id)
