"""POST /v1/responses/compact on the scripted model: the user messages kept verbatim, then one compaction item
holding the model's summary; the item is usable as input to a later response, which reads the summary."""

from __future__ import annotations

import openai
import pytest
from openai.types.responses import ResponseCompactionItem, ResponseUsage

from polystack.core.responses.compacted import decode_summary, encode_summary
from polystack.core.responses.context import COMPACTED_PREFIX
from tests.unit.core.responses.conftest import MODEL, call, record

SUMMARY = "The user asked about Paris; the assistant said it is the capital of France and looked up the weather."


async def test_a_conversation_compacts_to_its_user_messages_and_one_summary_item(connect):
    async with connect([{"content": SUMMARY}]) as stack:
        recorder = record(stack)
        compacted = await stack.openai.responses.compact(model=MODEL, input=[
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny, 21C"},
            {"role": "user", "content": "And the weather there?"},
        ])
    assert compacted.object == "response.compaction" and compacted.id and compacted.created_at
    *kept, item = compacted.output
    # the SDK's output union has no user message type (OpenAI's own answer holds them too): check the rest
    ResponseCompactionItem.model_validate(item.model_dump(mode="json"))
    ResponseUsage.model_validate(compacted.usage.model_dump(mode="json"))
    assert [(m.type, m.role, m.content[0].text) for m in kept] == [
        ("message", "user", "What is the capital of France?"), ("message", "user", "And the weather there?")]
    assert item.type == "compaction" and item.id.startswith("cmp_")
    assert decode_summary(item.encrypted_content) == SUMMARY
    assert compacted.usage.total_tokens == compacted.usage.input_tokens + compacted.usage.output_tokens == 2
    [request] = recorder.requests  # one model call, reading the whole conversation
    transcript = request.messages[-1].content
    for fragment in ("User: What is the capital of France?", "Assistant: Paris.",
                     'Assistant called weather({"city": "Paris"})', "Tool result (c1): sunny, 21C"):
        assert fragment in transcript


async def test_a_response_chain_is_compacted_and_the_item_continues_a_later_response(connect):
    async with connect([{"content": "Paris."}, {"content": "Lyon is second."}, {"content": SUMMARY},
                        {"content": "It was Paris."}]) as stack:
        first = await stack.openai.responses.create(model=MODEL, input="Capital of France?")
        second = await stack.openai.responses.create(model=MODEL, input="Second city?",
                                                     previous_response_id=first.id)
        recorder = record(stack)
        reply = await stack.http.post("/v1/responses/compact", json={
            "model": MODEL, "previous_response_id": second.id, "input": "Thanks.", "instructions": "Keep city names."})
        output = reply.json()["output"]  # as sent back by a client: the JSON it got
        assert [m["content"][0]["text"] for m in output[:-1]] == ["Capital of France?", "Second city?", "Thanks."]
        summary_call = recorder.requests[-1]
        assert "Keep city names." in summary_call.messages[0].content
        assert "Assistant: Lyon is second." in summary_call.messages[-1].content
        later = await stack.openai.responses.create(
            model=MODEL, input=[*output, {"role": "user", "content": "What was the first answer?"}])
        assert later.status == "completed" and later.output_text == "It was Paris."
        read = [(m.role, m.content) for m in recorder.requests[-1].messages]
        assert ("system", COMPACTED_PREFIX + SUMMARY) in read
        assert read[-1] == ("user", "What was the first answer?")
        items = await stack.openai.responses.input_items.list(later.id, order="asc")
        assert [i.type for i in items.data][-2:] == ["compaction", "message"]  # kept as given


async def test_bad_compaction_requests_are_400s_or_404s_naming_the_field(connect):
    async with connect([{"content": SUMMARY}]) as stack:
        with pytest.raises(openai.BadRequestError) as nothing:
            await stack.openai.responses.compact(model=MODEL)
        assert nothing.value.body["param"] == "input"
        with pytest.raises(openai.NotFoundError) as missing:
            await stack.openai.responses.compact(model=MODEL, previous_response_id="resp_missing")
        assert missing.value.body["param"] == "previous_response_id"
        recorder = record(stack)
        foreign = await stack.openai.responses.create(model=MODEL, input=[  # e.g. OpenAI's own, encrypted
            {"type": "compaction", "encrypted_content": "gAAAA-not-ours"}, {"role": "user", "content": "hi"}])
        assert foreign.status == "completed"
        assert [m.role for m in recorder.requests[-1].messages] == ["user"]  # left out of the context
        with pytest.raises(openai.BadRequestError) as unknown:
            await stack.openai.responses.compact(
                model=MODEL, input="x", extra_body={"reasoning": {"effort": "low"}})
        assert unknown.value.body["param"] == "reasoning"


def test_the_summary_token_round_trips_and_refuses_others():
    assert decode_summary(encode_summary("héllo\nworld")) == "héllo\nworld"
    for token in ("", "pcmp1.", "pcmp1.!!!", encode_summary("x")[:-3] + "A", "other.abc", "pcmp1.W10"):
        assert decode_summary(token) is None


async def test_a_tool_calling_chain_keeps_only_user_messages_verbatim(connect):
    async with connect([call("lookup"), {"content": SUMMARY}]) as stack:
        first = await stack.openai.responses.create(model=MODEL, input="Look it up", tools=[
            {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}])
        assert first.output[0].type == "function_call"
        compacted = await stack.openai.responses.compact(model=MODEL, previous_response_id=first.id, input=[
            {"type": "function_call_output", "call_id": first.output[0].call_id, "output": "42"}])
        assert [o.type for o in compacted.output] == ["message", "compaction"]
