"""Plain answers on the scripted model: non-streamed and streamed from one generator, stored, read back."""

from __future__ import annotations

import openai
import pytest

import polystack
from polystack.apis.responses.types import CreateResponseRequest
from polystack.core.config import parse_run_config
from polystack.core.errors import StackError
from tests.unit.core.responses.conftest import MODEL, check_events, valid

TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
               "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
               "response.output_text.delta", "response.output_text.done", "response.content_part.done",
               "response.output_item.done", "response.completed"]


async def test_a_plain_answer_is_the_scripted_text_in_openai_shape(connect):
    async with connect([{"content": "Paris is the capital."}]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="Capital of France?")
    valid(response)
    assert response.output_text == "Paris is the capital."
    assert response.status == "completed" and response.completed_at is not None
    [message] = response.output
    assert message.type == "message" and message.status == "completed" and message.id.startswith("msg_")
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens == 2
    assert response.tool_choice == "auto" and response.tools == [] and response.truncation == "disabled"


async def test_a_stored_response_is_read_back_listed_and_deleted(connect):
    async with connect([{"content": "one two"}]) as stack:
        created = await stack.openai.responses.create(model=MODEL, input="hi", metadata={"k": "v"})
        fetched = await stack.openai.responses.retrieve(created.id)
        assert valid(fetched).model_dump() == created.model_dump()
        items = await stack.openai.responses.input_items.list(created.id)
        assert [(i.type, i.role, i.content[0].text) for i in items.data] == [("message", "user", "hi")]
        listed = (await stack.http.get("/v1/responses")).json()
        assert [r["id"] for r in listed["data"]] == [created.id] and listed["data"][0]["input"][0]["role"] == "user"
        await stack.openai.responses.delete(created.id)
        with pytest.raises(openai.NotFoundError):
            await stack.openai.responses.retrieve(created.id)


async def test_streaming_emits_openai_s_sequence_numbered_and_valid(connect):
    async with connect([{"content": "one two three"}]) as stack:
        stream = await stack.openai.responses.create(model=MODEL, input="count", stream=True)
        events = [event async for event in stream]
        stored = await stack.openai.responses.retrieve(events[-1].response.id)
    assert check_events(events) == TEXT_EVENTS
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "one two three"
    assert events[-1].response.output_text == stored.output_text == "one two three"
    item_ids = {e.item_id for e in events if hasattr(e, "item_id")}
    assert item_ids == {events[-1].response.output[0].id}


async def test_store_false_keeps_nothing_and_cannot_be_continued(connect):
    async with connect([{"content": "secret"}]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="x", store=False)
        assert response.store is False
        with pytest.raises(openai.NotFoundError):
            await stack.openai.responses.retrieve(response.id)
        with pytest.raises(openai.NotFoundError) as info:
            await stack.openai.responses.create(model=MODEL, input="y", previous_response_id=response.id)
        assert info.value.body["param"] == "previous_response_id"


async def test_previous_response_id_gives_the_model_the_earlier_turns(connect):
    async with connect([]) as stack:  # echo: the model answers with the last user message
        first = await stack.openai.responses.create(model=MODEL, input="first question", instructions="Be brief.")
        second = await stack.openai.responses.create(model=MODEL, input="second", previous_response_id=first.id)
        assert second.previous_response_id == first.id and second.output_text == "second"
        messages = (await stack.stack.impls["responses"].engine.store.row(second.id))["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "first question"), ("assistant", "first question"), ("user", "second"), ("assistant", "second")]


async def test_the_responses_api_without_an_inference_provider_stops_the_stack_naming_it(tmp_path):
    config = parse_run_config({"distro_name": "x", "apis": ["responses"]}, env={})
    with pytest.raises(StackError, match="inference"):
        async with polystack.connect(config):
            pass


async def test_responses_are_not_kept_when_no_store_is_configured(tmp_path):
    config = parse_run_config({"distro_name": "x", "apis": ["inference", "responses"], "providers": {
        "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]}}, env={})
    async with polystack.connect(config) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="hi")
        assert response.output_text == "hi"
        with pytest.raises(openai.NotFoundError):
            await stack.openai.responses.retrieve(response.id)


async def test_the_deprecated_openai_prefix_serves_the_same_routes(connect):
    async with connect([]) as stack:
        created = (await stack.http.post("/v1/openai/v1/responses", json={"model": MODEL, "input": "old"})).json()
        fetched = await stack.http.get(f"/v1/openai/v1/responses/{created['id']}")
    assert fetched.status_code == 200 and fetched.json()["output"][0]["content"][0]["text"] == "old"


async def test_a_run_may_replace_a_response_stored_before_it_ends(connect):
    """The seam background mode uses: a row saved early (queued) is replaced by the finished response."""
    async with connect([{"content": "finished"}]) as stack:
        engine = stack.stack.impls["responses"].engine
        run = await engine.start(CreateResponseRequest(model=MODEL, input="go"))
        queued = run.response.model_copy(update={"status": "queued"}).model_dump(mode="json")
        await engine.store.save(queued, [], [])
        assert (await stack.openai.responses.retrieve(run.response.id)).status == "queued"
        run.replace_stored = True
        events = [event async for event in run.events()]
        fetched = await stack.openai.responses.retrieve(run.response.id)
    assert events[-1].name == "response.completed"
    assert (fetched.status, fetched.output_text) == ("completed", "finished")


async def test_responses_schemas_take_no_name_of_another_api_s_in_openapi(connect):
    async with connect([], vector_io=True) as stack:
        schemas = (await stack.http.get("/openapi.json")).json()["components"]["schemas"]
    renamed = [name for name in schemas if name.endswith(("-Input", "-Output")) or "__" in name]
    assert renamed == []  # a clash makes pydantic rename another API's schema (e.g. chat's FunctionCall)


async def test_the_sdk_s_stream_helper_rebuilds_the_same_response_from_the_events(connect):
    replies = [{"reasoning": "hmm", "content": "one two"},
               {"tool_calls": [{"name": "get_weather", "arguments": '{"city": "Oslo"}'}]}]
    weather = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    async with connect(replies) as stack:
        async with stack.openai.responses.stream(model=MODEL, input="?") as stream:
            text = await stream.get_final_response()
        async with stack.openai.responses.stream(model=MODEL, input="?", tools=[weather]) as stream:
            called = await stream.get_final_response()
        stored = await stack.openai.responses.retrieve(text.id)
    assert text.output_text == stored.output_text == "one two" and text.output[0].type == "reasoning"
    assert called.output[0].arguments == '{"city": "Oslo"}'


async def test_a_response_the_database_refuses_is_failed_not_a_broken_stream(connect):
    async with connect([{"content": "twice"}], durability="commit") as stack:
        engine = stack.stack.impls["responses"].engine
        run = await engine.start(CreateResponseRequest(model=MODEL, input="go"))
        await engine.store.save(run.response.model_dump(mode="json"), [], [])  # its id is taken already
        events = [event async for event in run.events()]
    assert events[-1].name == "response.failed"
    assert "conflicts with an existing row" in run.response.error.message
