"""Function tools: the call goes back to the client, which continues by previous_response_id or by items."""

from __future__ import annotations

import json

import openai
import pytest

from tests.unit.core.responses.conftest import MODEL, call, check_events, record, valid

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather of a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


async def test_a_function_call_ends_the_response_and_its_output_continues_it(connect):
    async with connect([call("get_weather", '{"city": "Paris"}'), {"content": "It is sunny in Paris."}]) as stack:
        recorder = record(stack)
        first = await stack.openai.responses.create(model=MODEL, input="Weather in Paris?", tools=[WEATHER])
        valid(first)
        [function_call] = first.output
        assert (function_call.type, function_call.name, function_call.arguments, function_call.status) == (
            "function_call", "get_weather", '{"city": "Paris"}', "completed")
        assert function_call.id.startswith("fc_") and function_call.call_id
        second = await stack.openai.responses.create(
            model=MODEL, previous_response_id=first.id, tools=[WEATHER],
            input=[{"type": "function_call_output", "call_id": function_call.call_id, "output": "sunny, 24C"}])
    assert valid(second).output_text == "It is sunny in Paris."
    sent = recorder.requests[-1].messages
    assert [m.role for m in sent] == ["user", "assistant", "tool"]
    assert sent[1].tool_calls[0].id == sent[2].tool_call_id == function_call.call_id
    assert sent[2].content == "sunny, 24C"
    assert recorder.requests[0].tools[0].function.name == "get_weather"
    assert all(r.store is False for r in recorder.requests)  # internal completions are not stored


async def test_the_round_trip_also_works_by_sending_the_items_back(connect):
    async with connect([call("get_weather", '{"city": "Oslo"}'), {"content": "Cold."}]) as stack:
        recorder = record(stack)
        first = await stack.openai.responses.create(model=MODEL, input="Weather in Oslo?", tools=[WEATHER],
                                                    store=False)
        [function_call] = first.output
        items = [{"role": "user", "content": "Weather in Oslo?"}, function_call.model_dump(exclude_none=True),
                 {"type": "function_call_output", "call_id": function_call.call_id, "output": "-5C"}]
        second = await stack.openai.responses.create(model=MODEL, input=items, tools=[WEATHER])
    assert second.output_text == "Cold."
    assert [m.role for m in recorder.requests[-1].messages] == ["user", "assistant", "tool"]


async def test_a_streamed_function_call_sends_its_arguments_as_deltas(connect):
    async with connect([call("get_weather", '{"city": "Rome"}')]) as stack:
        stream = await stack.openai.responses.create(model=MODEL, input="Rome?", tools=[WEATHER], stream=True)
        events = [event async for event in stream]
    assert check_events(events) == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed"]
    assert events[4].arguments == '{"city": "Rome"}' and events[5].item.status == "completed"


async def test_parallel_calls_come_back_together(connect):
    reply = {"tool_calls": [{"name": "get_weather", "arguments": '{"city": "A"}'},
                            {"name": "get_weather", "arguments": '{"city": "B"}'}]}
    async with connect([reply]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="A and B?", tools=[WEATHER],
                                                       parallel_tool_calls=False, tool_choice="required")
    assert [json.loads(item.arguments)["city"] for item in response.output] == ["A", "B"]
    assert len({item.call_id for item in response.output}) == 2
    assert recorder.requests[0].parallel_tool_calls is False and recorder.requests[0].tool_choice == "required"


async def test_a_json_schema_text_format_reaches_the_model_as_response_format(connect):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    async with connect([{"content": '{"answer": "yes"}'}]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="?", text={"format": {"type": "json_schema", "name": "verdict", "schema": schema,
                                                     "strict": True}})
    sent = recorder.requests[0].response_format
    assert (sent.type, sent.json_schema.name, sent.json_schema.schema_, sent.json_schema.strict) == (
        "json_schema", "verdict", schema, True)
    assert valid(response).text.format.type == "json_schema" and response.text.format.schema_ == schema


async def test_a_json_object_format_and_sampling_settings_are_passed_through(connect):
    async with connect([{"content": "{}"}]) as stack:
        recorder = record(stack)
        await stack.openai.responses.create(model=MODEL, input="?", text={"format": {"type": "json_object"}},
                                            temperature=0.5, top_p=0.9, max_output_tokens=30)
    sent = recorder.requests[0]
    assert (sent.response_format.type, sent.temperature, sent.top_p, sent.max_tokens) == ("json_object", 0.5, 0.9, 30)


@pytest.mark.parametrize(("tool", "param"), [
    ({"type": "function", "name": "bad name!", "parameters": {"type": "object"}}, "tools[0].name"),
    ({"type": "function", "name": "f", "parameters": {"type": "array"}}, "tools[0].parameters"),
    ({"type": "function", "name": "f", "parameters": {"type": "object", "properties": {"x": 1}}},
     "tools[0].parameters"),
    ({"type": "code_interpreter", "container": {"type": "auto"}}, "tools[0]"),
])
async def test_a_bad_tool_is_a_400_naming_the_field(connect, tool, param):
    async with connect([]) as stack:
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.create(model=MODEL, input="x", tools=[tool])
    assert info.value.body["param"].startswith(param)


async def test_unknown_fields_are_a_400_naming_them(connect):
    async with connect([]) as stack:
        reply = await stack.http.post("/v1/responses", json={"model": MODEL, "input": "x", "frobnicate": 1})
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "frobnicate"
        reply = await stack.http.post("/v1/responses", json={"model": MODEL, "input": "x", "background": True,
                                                             "store": False})
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "store"
        reply = await stack.http.post("/v1/responses", json={"model": MODEL, "input": "x", "guardrails": ["g"]})
        assert reply.status_code == 400 and "guardrails" in reply.json()["error"]["message"]
        reply = await stack.http.post("/v1/responses", json={"model": MODEL, "input": [{"type": "message"}]})
        assert reply.status_code == 400 and reply.json()["error"]["param"].startswith("input[0]")


async def test_continuing_without_the_function_s_output_is_a_400(connect):
    async with connect([call("get_weather", '{"city": "Paris"}')]) as stack:
        first = await stack.openai.responses.create(model=MODEL, input="Weather?", tools=[WEATHER])
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.create(model=MODEL, input="and?", previous_response_id=first.id)
    assert info.value.body["param"] == "input" and first.output[0].call_id in info.value.body["message"]


async def test_allowed_tools_limits_what_the_model_is_offered(connect):
    other = {**WEATHER, "name": "get_time"}
    async with connect([{"content": "ok"}]) as stack:
        recorder = record(stack)
        await stack.openai.responses.create(model=MODEL, input="?", tools=[WEATHER, other], tool_choice={
            "type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]})
    sent = recorder.requests[0]
    assert [t.function.name for t in sent.tools] == ["get_time"] and sent.tool_choice == "required"


async def test_usage_details_and_metadata_limits(connect):
    async with connect([{"content": "ok"}]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="?")
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.create(model=MODEL, input="?", metadata={"k": "v" * 513})
    usage = response.usage
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (0, 0)
    assert info.value.body["param"].startswith("metadata")


async def test_openai_s_chat_settings_are_passed_on_to_the_model(connect):
    async with connect([{"content": "ok"}]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="?", user="u1", safety_identifier="hash-1", prompt_cache_key="k",
            service_tier="auto", text={"verbosity": "low"})
    sent = recorder.requests[0]
    assert sent.user == "u1" and sent.model_extra["safety_identifier"] == "hash-1"
    assert (sent.model_extra["prompt_cache_key"], sent.model_extra["verbosity"]) == ("k", "low")
    assert valid(response).safety_identifier == "hash-1" and response.text.verbosity == "low"
