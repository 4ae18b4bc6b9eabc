"""The Responses WebSocket mode on /v1/responses: the `openai` SDK's own `responses.connect()` against a real
server process (uvicorn + websockets), and the in-process socket of the library client, on the scripted model.
Several sequential responses on one socket, continuation by previous_response_id (store=false too), the same
events as SSE numbered per response, and errors as `error` events on a socket that stays open."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
import websockets
import yaml
from openai.types.responses import ResponsesServerEvent
from pydantic import TypeAdapter

import polystack
from polystack.core.asgi_websocket import WebSocketRejected
from polystack.core.config import parse_run_config
from tests.unit.core.responses.conftest import MODEL

SERVER_EVENTS: TypeAdapter[Any] = TypeAdapter(ResponsesServerEvent)
KEYS = {"alice": "alice-key-ws-0001", "bob": "bob-key-ws-0002"}
AUTH = {"provider_config": {"type": "api_keys", "keys": [
    {"key": key, "principal": name} for name, key in KEYS.items()]}}
TERMINAL = ("response.completed", "response.failed", "response.incomplete")


def raw_config(tmp_path, replies: list[dict[str, Any]]) -> dict[str, Any]:
    """The scripted model replying `replies` in turn, on SQLite, with two API keys."""
    return {
        "distro_name": "responses-ws",
        "apis": ["inference", "responses"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"replies": replies}}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"responses": {"backend": "sql"}, "metadata": {"backend": "kv"}}},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": AUTH},
    }


def config(tmp_path, replies: list[dict[str, Any]]) -> Any:
    return parse_run_config(raw_config(tmp_path, replies), env={})


async def until_terminal(connection: Any) -> list[Any]:
    """The events of one response, up to its terminal event (or an error), validated by the SDK's union."""
    events = []
    async for event in connection:
        SERVER_EVENTS.validate_python(event.model_dump(mode="json", by_alias=True))
        events.append(event)
        if event.type in TERMINAL or event.type == "error":
            return events
    raise AssertionError("the socket closed mid-response")


@pytest.fixture(scope="module")
def server(server_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("ws")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw_config(folder, [{"content": "first answer"}, {"content": "second answer"},
                                                       {"content": "third answer"}])))
    return server_factory(str(path))


def client(server: Any, who: str = "alice") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=KEYS[who], timeout=30)


async def test_the_sdk_s_connect_runs_sequential_responses_and_continues_them(server):
    alice = client(server)
    async with alice.responses.connect() as connection:
        await connection.response.create(model=MODEL, input="one", store=False)
        first = await until_terminal(connection)
        await connection.response.create(model=MODEL, input="two", store=False,
                                         previous_response_id=first[-1].response.id)
        second = await until_terminal(connection)
        await connection.response.create(model=MODEL, input="three", previous_response_id=second[-1].response.id,
                                         stream_id="lane-1")
        third = await until_terminal(connection)
    for events in (first, second, third):
        assert [e.sequence_number for e in events] == list(range(len(events)))
        assert events[0].type == "response.created" and events[-1].type == "response.completed"
    texts = [events[-1].response.output_text for events in (first, second, third)]
    assert sorted(texts) == ["first answer", "second answer", "third answer"]
    assert second[-1].response.previous_response_id == first[-1].response.id
    assert {e.stream_id for e in third} == {"lane-1"}
    with pytest.raises(openai.NotFoundError):  # store=false kept nothing on the server
        await alice.responses.retrieve(first[-1].response.id)
    stored = await alice.responses.retrieve(third[-1].response.id)  # the third was stored (store defaults true)
    assert stored.previous_response_id == second[-1].response.id


async def test_errors_are_error_events_and_the_socket_stays_open(server):
    async with client(server).responses.connect() as connection:
        await connection.response.create(model=MODEL, input="x", previous_response_id="resp_unknown")
        [missing] = await until_terminal(connection)
        assert missing.type == "error" and missing.status == 404
        assert missing.error.param == "previous_response_id"
        await connection.response.create(model=MODEL, input="x", background=True)
        [background] = await until_terminal(connection)
        assert background.status == 400 and background.error.param == "background"
        await connection.send_raw("not json")
        [not_json] = await until_terminal(connection)
        assert not_json.status == 400 and "JSON" in not_json.error.message
        await connection.response.create(model=MODEL, input="still here")
        events = await until_terminal(connection)
        assert events[-1].type == "response.completed"


async def test_a_socket_without_a_valid_key_is_refused_at_the_handshake(server):
    url = f"ws://127.0.0.1:{server.port}/v1/responses"
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        async with websockets.connect(url, additional_headers={"Authorization": "Bearer wrong"}):
            pass
    assert info.value.response.status_code == 403
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {KEYS['bob']}"}) as ws:
        await ws.send("[1, 2]")
        error = orjson.loads(await ws.recv())
        assert error["type"] == "error" and error["status"] == 400
        await ws.send(orjson.dumps({"type": "response.cancel"}).decode())
        error = orjson.loads(await ws.recv())
        assert error["status"] == 400 and error["error"]["param"] == "type"


async def test_the_in_process_socket_speaks_the_same_protocol(tmp_path):
    async with polystack.connect(config(tmp_path, [{"content": "in process"}]), api_key=KEYS["alice"]) as stack:
        async with stack.websocket("/v1/responses") as ws:
            await ws.send(orjson.dumps({"type": "response.create", "model": MODEL, "input": "hi",
                                        "store": False}).decode())
            events = []
            while not events or events[-1]["type"] not in TERMINAL:
                events.append(orjson.loads(await ws.recv()))
            assert events[-1]["response"]["output"][0]["content"][0]["text"] == "in process"
            assert [e["sequence_number"] for e in events] == list(range(len(events)))
            for event in events:
                SERVER_EVENTS.validate_python(event)
            sse = await stack.openai.responses.create(model=MODEL, input="hi", store=False, stream=True)
            assert [e["type"] for e in events] == [e.type async for e in sse]  # the same events as SSE
            await ws.send(orjson.dumps({"type": "response.create", "model": MODEL, "input": "again",
                                        "previous_response_id": events[-1]["response"]["id"],
                                        "temperature": 9}).decode())
            error = orjson.loads(await ws.recv())
            assert error["type"] == "error" and error["error"]["param"] == "temperature"
            await ws.send(orjson.dumps({"type": "response.create", "model": MODEL, "input": "again",
                                        "previous_response_id": events[-1]["response"]["id"]}).decode())
            again = []
            while not again or again[-1]["type"] not in TERMINAL:
                again.append(orjson.loads(await ws.recv()))
            assert again[-1]["type"] == "response.completed"
            assert again[-1]["response"]["previous_response_id"] == events[-1]["response"]["id"]
    async with polystack.connect(config(tmp_path, [{"content": "x"}]), api_key="wrong") as stack:
        with pytest.raises(WebSocketRejected):
            async with stack.websocket("/v1/responses"):
                pass
