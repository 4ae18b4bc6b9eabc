"""Ends other than an answer: max_output_tokens, max_infer_iters, provider errors, and the token count."""

from __future__ import annotations

import openai
import pytest

from polystack.apis.errors import InvalidRequestError, ProviderError
from tests.unit.core.responses.conftest import MODEL, call, check_events, record, valid


async def test_a_reply_cut_by_max_output_tokens_is_an_incomplete_response(connect):
    async with connect([{"content": "a long answer", "finish_reason": "length"}]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="?", max_output_tokens=3)
        stream = await stack.openai.responses.create(model=MODEL, input="?", max_output_tokens=3, stream=True)
        events = [event async for event in stream]
    valid(response)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete" and response.output_text == "a long answer"
    assert response.completed_at is None
    assert check_events(events)[-1] == "response.incomplete"


async def test_the_loop_stops_after_max_infer_iters_model_calls(connect):
    search = {"type": "file_search", "vector_store_ids": ["vs_x"]}
    async with connect([call("file_search", '{"query": "q"}')], vector_io=True) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="?", tools=[search],
                                                       extra_body={"max_infer_iters": 3})
    assert len(recorder.requests) == 3
    assert recorder.requests[-1].tools is None  # the last call is not offered server tools
    assert response.status == "completed"


async def test_an_error_before_any_output_is_the_http_error_or_a_failed_event(connect):
    async with connect([]) as stack:
        with pytest.raises(openai.NotFoundError) as info:
            await stack.openai.responses.create(model="no-such-model", input="?")
        assert info.value.body["code"] == "model_not_found"
        stream = await stack.openai.responses.create(model="no-such-model", input="?", stream=True)
        events = [event async for event in stream]
    assert check_events(events) == ["response.created", "response.in_progress", "response.failed"]
    failed = valid(events[-1].response)
    assert failed.status == "failed" and "no-such-model" in failed.error.message and failed.error.param == "model"


async def test_input_tokens_counts_what_the_model_would_read(connect):
    async with connect([]) as stack:
        short = (await stack.http.post("/v1/responses/input_tokens", json={"model": MODEL, "input": "hello"})).json()
        longer = (await stack.http.post("/v1/responses/input_tokens", json={
            "model": MODEL, "input": "hello", "instructions": "Answer in French, politely."})).json()
        first = await stack.openai.responses.create(model=MODEL, input="hello")
        chained = (await stack.http.post("/v1/responses/input_tokens", json={
            "model": MODEL, "input": "again", "previous_response_id": first.id})).json()
    assert short == {"object": "response.input_tokens", "input_tokens": 1}
    async with connect([]) as stack:
        counted = await stack.openai.responses.input_tokens.count(model=MODEL, input="hello", truncation="auto")
    assert (counted.object, counted.input_tokens) == ("response.input_tokens", 1)
    assert longer["input_tokens"] > short["input_tokens"]
    assert chained["input_tokens"] == 3  # hello, hello (the answer), again


async def test_input_items_page_by_cursor_in_either_order(connect):
    items = [{"role": "user", "content": f"m{n}"} for n in range(5)]
    async with connect([]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input=items)
        newest = await stack.openai.responses.input_items.list(response.id, limit=2)
        rest = await stack.openai.responses.input_items.list(response.id, limit=10, after=newest.last_id)
        oldest = await stack.openai.responses.input_items.list(response.id, order="asc", limit=2)
        with pytest.raises(openai.NotFoundError):
            await stack.openai.responses.input_items.list("resp_missing")
    assert [i.content[0].text for i in newest.data] == ["m4", "m3"] and newest.has_more
    assert [i.content[0].text for i in rest.data] == ["m2", "m1", "m0"] and not rest.has_more
    assert [i.content[0].text for i in oldest.data] == ["m0", "m1"]
    assert all(i.id.startswith("msg_") for i in newest.data)


async def test_responses_are_listed_newest_first_and_by_model(connect):
    async with connect([]) as stack:
        ids = [(await stack.openai.responses.create(model=MODEL, input=str(n))).id for n in range(3)]
        page = (await stack.http.get("/v1/responses", params={"limit": 2})).json()
        after = (await stack.http.get("/v1/responses", params={"after": page["last_id"]})).json()
        other = (await stack.http.get("/v1/responses", params={"model": "other"})).json()
    assert [r["id"] for r in page["data"]] == ids[::-1][:2] and page["has_more"]
    assert [r["id"] for r in after["data"]] == ids[:1]
    assert other["data"] == []


class SmallContext:
    """An inference hook playing a model whose context holds at most `limit` messages (as llama.cpp refuses a
    prompt too long for its context: context_length_exceeded)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    async def before(self, call):
        if call.kind == "chat_completion" and len(call.request.messages) > self.limit:
            raise InvalidRequestError("the prompt does not fit the context", param="messages",
                                      code="context_length_exceeded")

    async def on_chunk(self, call, chunk):
        return chunk

    async def after(self, call):
        return None


async def test_truncation_auto_drops_the_oldest_turns_and_disabled_is_the_error(connect):
    async with connect([]) as stack:
        stack.stack.impls["inference"].hooks.add(SmallContext(limit=3))
        recorder = record(stack)
        first = await stack.openai.responses.create(model=MODEL, input="one")
        second = await stack.openai.responses.create(model=MODEL, input="two", previous_response_id=first.id)
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.create(model=MODEL, input="three", previous_response_id=second.id)
        third = await stack.openai.responses.create(model=MODEL, input="three", previous_response_id=second.id,
                                                    truncation="auto")
    assert info.value.body["code"] == "context_length_exceeded"
    assert third.output_text == "three" and third.truncation == "auto"
    assert [m.content for m in recorder.requests[-1].messages] == ["two", "two", "three"]


class BreaksMidStream:
    """An inference hook that stops a streamed answer after its first words (as an upstream that drops)."""

    def __init__(self) -> None:
        self.chunks = 0

    async def before(self, call):
        return None

    async def on_chunk(self, call, chunk):
        self.chunks += 1
        if self.chunks == 3:
            raise ProviderError("upstream", "connection reset")
        return chunk

    async def after(self, call):
        return None


async def test_a_failure_after_some_output_fails_the_response_and_keeps_what_came(connect):
    async with connect([{"content": "one two three four"}]) as stack:
        stack.stack.impls["inference"].hooks.add(BreaksMidStream())
        stream = await stack.openai.responses.create(model=MODEL, input="?", stream=True)
        events = [event async for event in stream]
        stored = await stack.openai.responses.retrieve(events[-1].response.id)
    names = check_events(events)
    assert names[-1] == "response.failed" and "response.output_text.delta" in names
    failed = valid(events[-1].response)
    assert failed.error.code == "server_error" and "connection reset" in failed.error.message
    assert failed.output[0].status == "incomplete" and failed.output[0].type == "message"
    assert failed.output_text == "one "  # what came before the failure
    assert stored.status == "failed"


async def test_output_tokens_spent_on_tool_calls_leave_the_response_incomplete(connect):
    search = {"type": "file_search", "vector_store_ids": ["vs_x"]}
    async with connect([call("file_search", '{"query": "q"}'), {"content": "never"}], vector_io=True) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="?", tools=[search], max_output_tokens=1)
    assert len(recorder.requests) == 1 and recorder.requests[0].max_tokens == 1
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert [item.type for item in response.output] == ["file_search_call"]
