"""The Responses API over HTTP with the official `openai` SDK, against a real `polystack run` (scripted model),
and in-process through `polystack.connect`: answers, streams, function round trips, storage, errors, and two
users who can never see each other's responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

import polystack
from polystack.core.config import parse_run_config

ALICE, BOB = "alice-key-77aa01", "bob-key-88bb02"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB}
ECHO = "scripted/scripted-model"  # answers with the last user message
TOOLS = "tools/tool-model"  # calls get_weather, then answers
WEATHER = {"type": "function", "name": "get_weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def config(tmp_path: Path, *, auth: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "distro_name": "responses",
        "apis": ["inference", "responses"],
        "providers": {"inference": [
            {"provider_id": "scripted", "provider_type": "inline::scripted"},
            {"provider_id": "tools", "provider_type": "inline::scripted", "config": {
                "models": ["tool-model"],
                "replies": [{"tool_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]},
                            {"content": "Sunny in Paris."}]}},
        ]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "responses": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }
    if auth:
        body["server"] = {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "${env.ALICE_KEY}", "principal": "alice"}, {"key": "${env.BOB_KEY}", "principal": "bob"}]}}}
    return body


@pytest.fixture(scope="module")
def server(server_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("responses")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config(folder, auth=True)))
    return server_factory(str(path), env=ENV)


@pytest.fixture
def alice(server):  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=ALICE)


@pytest.fixture
def bob(server):  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=BOB)


def test_a_plain_answer_in_openai_s_shape(alice):
    response = alice.responses.create(model=ECHO, input="hello there")
    Response.model_validate(response.model_dump(mode="json", by_alias=True))
    assert response.output_text == "hello there" and response.status == "completed"
    assert alice.responses.retrieve(response.id).output_text == "hello there"


def test_streaming_events_in_order_numbered_and_valid(alice):
    with alice.responses.create(model=ECHO, input="one two", stream=True) as stream:
        events = list(stream)
    for number, event in enumerate(events):
        EVENTS.validate_python(event.model_dump(mode="json", by_alias=True))
        assert event.sequence_number == number
    assert [e.type for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]
    assert events[-1].response.output_text == "one two"


def test_the_raw_stream_names_each_event(server):
    with httpx.stream("POST", f"{server.base_url}/v1/responses", json={"model": ECHO, "input": "x", "stream": True},
                      headers={"Authorization": f"Bearer {ALICE}"}) as reply:
        lines = [line for line in reply.iter_lines() if line.startswith("event: ")]
    assert lines[0] == "event: response.created" and lines[-1] == "event: response.completed"


def test_a_function_tool_round_trip_by_previous_response_id(alice):
    first = alice.responses.create(model=TOOLS, input="Weather in Paris?", tools=[WEATHER])
    [call] = first.output
    assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", '{"city": "Paris"}')
    second = alice.responses.create(model=TOOLS, previous_response_id=first.id, tools=[WEATHER],
                                    input=[{"type": "function_call_output", "call_id": call.call_id, "output": "24C"}])
    assert second.output_text == "Sunny in Paris."


def test_store_false_keeps_nothing(alice):
    response = alice.responses.create(model=ECHO, input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(response.id)


def test_unknown_ids_are_404s_naming_the_field(alice):
    with pytest.raises(openai.NotFoundError) as info:
        alice.responses.create(model=ECHO, input="x", previous_response_id="resp_nope")
    assert info.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve("resp_nope")
    with pytest.raises(openai.NotFoundError):
        alice.responses.delete("resp_nope")


def test_a_bad_tool_schema_is_a_400_naming_the_field(alice):
    with pytest.raises(openai.BadRequestError) as info:
        alice.responses.create(model=ECHO, input="x", tools=[
            {"type": "function", "name": "f", "parameters": {"type": "object", "required": "city"}}])
    assert info.value.body["param"] == "tools[0].parameters"


def test_two_users_never_see_each_other_s_responses(server, alice, bob):
    mine = alice.responses.create(model=ECHO, input="alice's secret")
    probes = 0
    for attempt in (lambda: bob.responses.retrieve(mine.id), lambda: bob.responses.delete(mine.id),
                    lambda: bob.responses.input_items.list(mine.id),
                    lambda: bob.responses.create(model=ECHO, input="x", previous_response_id=mine.id)):
        with pytest.raises(openai.NotFoundError):
            attempt()
        probes += 1
    listed = httpx.get(f"{server.base_url}/v1/responses", headers={"Authorization": f"Bearer {BOB}"}).json()
    assert "alice's secret" not in str(listed) and mine.id not in str(listed)
    anonymous = httpx.get(f"{server.base_url}/v1/responses/{mine.id}")
    assert anonymous.status_code == 401 and probes == 4
    assert alice.responses.retrieve(mine.id).output_text == "alice's secret"  # still there, still hers
    with alice.responses.create(model=ECHO, input="streamed secret", stream=True) as stream:
        streamed = [event for event in stream][-1].response
    with pytest.raises(openai.NotFoundError):
        bob.responses.retrieve(streamed.id)
    assert alice.responses.retrieve(streamed.id).output_text == "streamed secret"


async def test_the_in_process_client_serves_the_same_api(tmp_path):
    async with polystack.connect(parse_run_config(config(tmp_path, auth=False), env={})) as stack:
        response = await stack.openai.responses.create(model=ECHO, input="in process")
        stream = await stack.openai.responses.create(model=ECHO, input="streamed", previous_response_id=response.id,
                                                     stream=True)
        events = [event async for event in stream]
        fetched = await stack.openai.responses.retrieve(events[-1].response.id)
    assert response.output_text == "in process"
    assert fetched.output_text == "streamed" and fetched.previous_response_id == response.id
