"""Reasoning items, refusals and logprobs: each as OpenAI's items and events, streamed or not."""

from __future__ import annotations

import pytest

from tests.unit.core.responses.conftest import MODEL, check_events, record, valid


@pytest.mark.parametrize("stream", [False, True])
async def test_a_model_s_reasoning_is_a_reasoning_item_before_the_answer(connect, stream):
    async with connect([{"reasoning": "think hard", "content": "42"}]) as stack:
        recorder = record(stack)
        if stream:
            events = [e async for e in await stack.openai.responses.create(
                model=MODEL, input="?", reasoning={"effort": "low"}, stream=True)]
            check_events(events)
            response = events[-1].response
        else:
            response = await stack.openai.responses.create(model=MODEL, input="?", reasoning={"effort": "low"})
    valid(response)
    reasoning, message = response.output
    assert (reasoning.type, reasoning.content[0].text, reasoning.status) == ("reasoning", "think hard", "completed")
    assert reasoning.id.startswith("rs_") and message.content[0].text == "42"
    assert recorder.requests[0].model_extra["reasoning_effort"] == "low"
    assert response.reasoning.effort == "low"
    if stream:
        names = [e.type for e in events]
        assert names[2:9] == ["response.output_item.added", "response.content_part.added",
                              "response.reasoning_text.delta", "response.reasoning_text.delta",
                              "response.reasoning_text.done", "response.content_part.done",
                              "response.output_item.done"]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_refusal_is_a_refusal_part(connect, stream):
    async with connect([{"refusal": "I cannot help with that."}]) as stack:
        if stream:
            events = [e async for e in await stack.openai.responses.create(model=MODEL, input="?", stream=True)]
            names = check_events(events)
            assert "response.refusal.delta" in names and "response.refusal.done" in names
            response = events[-1].response
        else:
            response = await stack.openai.responses.create(model=MODEL, input="?")
    [message] = valid(response).output
    assert [(p.type, p.refusal) for p in message.content] == [("refusal", "I cannot help with that.")]


@pytest.mark.parametrize("stream", [False, True])
async def test_logprobs_are_asked_for_and_returned_when_included(connect, stream):
    async with connect([{"content": "one two"}]) as stack:
        recorder = record(stack)
        kwargs = {"include": ["message.output_text.logprobs"], "top_logprobs": 2}
        if stream:
            events = [e async for e in await stack.openai.responses.create(model=MODEL, input="?", stream=True,
                                                                         **kwargs)]
            check_events(events)
            assert [len(e.logprobs) for e in events if e.type == "response.output_text.delta"] == [1, 1]
            response = events[-1].response
        else:
            response = await stack.openai.responses.create(model=MODEL, input="?", **kwargs)
    assert (recorder.requests[0].logprobs, recorder.requests[0].top_logprobs) == (True, 2)
    part = valid(response).output[0].content[0]
    assert [(lp.token, lp.logprob) for lp in part.logprobs] == [("one ", -1.0), ("two", -1.0)]
