"""The mcp tool end to end: a real `polystack run` (scripted model emitting the call), the official `openai`
SDK over HTTP, and `mcp-server-time` (PyPI) on loopback: the listing, the call, its events as the SDK types
them, the approval round trip by previous_response_id, and a retrieved response without the credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from polystack.testing.mcp_servers import TimeServer

KEY = "mcp-e2e-key-31c9"
MODEL = "time/time-model"
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
CALL = {"tool_calls": [{"name": "get_current_time", "arguments": '{"timezone": "UTC"}'}]}


def config(tmp_path: Path) -> dict[str, Any]:
    # The scripted model plays its replies in order, across the tests of this module (in file order).
    replies = [CALL, {"content": "It is now in UTC."}, CALL, {"content": "Approved and done."}]
    return {
        "distro_name": "responses-mcp",
        "apis": ["inference", "responses"],
        "providers": {"inference": [{"provider_id": "time", "provider_type": "inline::scripted",
                                     "config": {"models": ["time-model"], "replies": replies}}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "responses": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {"provider_config": {"type": "api_keys", "keys": [{"key": KEY, "principal": "alice"}]}}},
    }


@pytest.fixture(scope="module")
def time_server() -> Iterator[TimeServer]:
    with TimeServer() as running:
        yield running


@pytest.fixture(scope="module")
def client(server_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("responses-mcp")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config(folder)))
    server = server_factory(str(path))
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=KEY)


def time_tool(server: TimeServer, **options: Any) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "time", "server_url": server.http_url, **options}


def test_a_streamed_mcp_call_to_mcp_server_time(client, time_server):
    tool = time_tool(time_server, require_approval="never", headers={"X-Api-Key": "never-stored-5d1e"})
    with client.responses.create(model=MODEL, input="What time is it in UTC?", stream=True, tools=[tool]) as stream:
        events = list(stream)
    for number, event in enumerate(events):
        EVENTS.validate_python(event.model_dump(mode="json", by_alias=True))
        assert event.sequence_number == number
    names = [event.type for event in events]
    assert names[2:6] == ["response.output_item.added", "response.mcp_list_tools.in_progress",
                          "response.mcp_list_tools.completed", "response.output_item.done"]
    assert names[6:12] == ["response.output_item.added", "response.mcp_call.in_progress",
                           "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done",
                           "response.mcp_call.completed", "response.output_item.done"]
    response = events[-1].response
    Response.model_validate(response.model_dump(mode="json", by_alias=True))
    listing, mcp_call, message = response.output
    assert {"get_current_time", "convert_time"} <= {t.name for t in listing.tools}
    assert mcp_call.name == "get_current_time" and mcp_call.status == "completed"
    assert json.loads(mcp_call.output)["timezone"] == "UTC"
    assert message.content[0].text == "It is now in UTC."
    stored = client.responses.retrieve(response.id)
    assert stored.tools[0].headers == {"X-Api-Key": "<redacted>"}
    assert "never-stored-5d1e" not in stored.model_dump_json()


def test_an_approval_round_trip_by_previous_response_id(client, time_server):
    tool = time_tool(time_server)  # require_approval absent: OpenAI's default, always
    asked = client.responses.create(model=MODEL, input="What time is it?", tools=[tool])
    request = asked.output[-1]
    assert request.type == "mcp_approval_request" and request.name == "get_current_time"
    done = client.responses.create(
        model=MODEL, previous_response_id=asked.id, tools=[tool],
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}])
    Response.model_validate(done.model_dump(mode="json", by_alias=True))
    assert [item.type for item in done.output] == ["mcp_call", "message"]
    assert done.output[0].approval_request_id == request.id and done.output[0].status == "completed"
    assert done.output_text == "Approved and done."


@pytest.mark.slow
def test_on_starter_the_embedded_model_calls_mcp_server_time(starter_server, time_server):
    """Shapes only: tool_choice names the tool, so the embedded model's call is constrained to it."""
    client = openai.OpenAI(base_url=f"{starter_server.base_url}/v1", api_key="none")
    response = client.responses.create(
        model="llama-cpp/SmolLM2-135M-Instruct", input="What time is it in UTC?", max_output_tokens=96,
        tools=[time_tool(time_server, require_approval="never", allowed_tools=["get_current_time"])],
        tool_choice={"type": "mcp", "server_label": "time", "name": "get_current_time"})
    Response.model_validate(response.model_dump(mode="json", by_alias=True))
    assert response.output[0].type == "mcp_list_tools" and response.output[0].error is None
    calls = [item for item in response.output if item.type == "mcp_call"]
    assert calls and calls[0].name == "get_current_time" and calls[0].status in ("completed", "failed")
    if calls[0].status == "completed":  # a timezone the model made up may not exist: a failed call then
        assert "datetime" in json.loads(calls[0].output)
    assert response.status in ("completed", "incomplete")
