"""Background streams end to end, over real HTTP (uvicorn) and in-process, on the same app.

No public route streams a job yet, so the test adds a small router of its own: a real producer task that
emits events with delays into the event log, a resumable stream endpoint, a live named-event stream, and a
WebSocket echo.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
import websockets
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

import polystack
from polystack.apis.errors import InvalidRequestError, ProviderError
from polystack.apis.events import StreamEvent
from polystack.apis.http import respond
from polystack.core.config import parse_run_config
from polystack.core.storage.kv.memory import MemoryKVStore
from polystack.core.streams.background import BackgroundStreams
from polystack.core.streams.event_log import EventLog
from polystack.core.streams.replay import stream_from_log
from polystack.testing.tcp_proxy import unused_port

EVENTS = 20  # ticks per job, then a final `test.done`
DELAY = 0.1  # seconds between a producer's events


async def ticks(count: int, delay: float, fail_after: int | None = None) -> AsyncIterator[StreamEvent]:
    """A real producer: `count` events `delay` apart, then `test.done`; or a provider error midway."""
    for i in range(count):
        if i == fail_after:
            raise ProviderError("upstream", "the upstream went away", status_code=502)
        await asyncio.sleep(delay)
        yield StreamEvent("test.tick", {"index": i})
    yield StreamEvent("test.done", {"count": count})


def streams_router(streams: BackgroundStreams) -> APIRouter:
    router = APIRouter()

    @router.post("/test/jobs/{job_id}")
    async def start_job(job_id: str, fail_after: int | None = None) -> Any:
        await streams.start(job_id, ticks(EVENTS, DELAY, fail_after))
        return await respond(stream_from_log(streams.log, job_id))

    @router.get("/test/jobs/{job_id}")
    async def resume_job(job_id: str, starting_after: int | None = None) -> Any:
        return await respond(stream_from_log(streams.log, job_id, starting_after))

    @router.get("/test/live")
    async def live(fail_at: int | None = None) -> Any:
        async def events() -> AsyncIterator[StreamEvent]:
            for i in range(3):
                if i == fail_at:
                    raise InvalidRequestError("index 0 is refused", param="fail_at")
                yield StreamEvent("test.tick", {"index": i})

        return await respond(events())

    @router.websocket("/test/echo")
    async def echo(socket: WebSocket) -> None:
        await socket.accept()
        try:
            while True:
                text = await socket.receive_text()
                if text == "bye":
                    await socket.close(code=1000, reason="asked to")
                    return
                await socket.send_text(f"echo: {text}")
        except WebSocketDisconnect:
            return

    return router


@pytest.fixture
async def served() -> AsyncIterator[dict[str, Any]]:
    """A stack with the test router, reachable in-process and through uvicorn on a real port."""
    config = parse_run_config({"distro_name": "streams", "providers": {"inference": [
        {"provider_id": "scripted", "provider_type": "inline::scripted", "config": {}}]}}, env={})
    streams = BackgroundStreams(EventLog(MemoryKVStore(), poll_interval=0.05))
    async with polystack.connect(config) as stack:
        stack.app.include_router(streams_router(streams))
        port = unused_port()
        server = uvicorn.Server(uvicorn.Config(stack.app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield {"stack": stack, "streams": streams, "clients": {"http": http, "in-process": stack.http},
                   "ws_url": f"ws://127.0.0.1:{port}"}
        await streams.close()
        server.should_exit = True
        await serving


def parse_sse(text: str) -> list[tuple[str | None, Any]]:
    """(event name or None, parsed data) for each SSE event of a body."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = fields["data"]
        events.append((fields.get("event"), data if data == "[DONE]" else orjson.loads(data)))
    return events


async def read_events(response: httpx.Response, limit: int | None = None) -> list[dict[str, Any]]:
    """Named events from a streaming response, checking `event:` matches the data's type; stop at `limit`."""
    events: list[dict[str, Any]] = []
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            ((name, data),) = parse_sse(block)
            assert name == data["type"]
            events.append(data)
            if limit is not None and len(events) == limit:
                return events
    return events


@pytest.mark.parametrize("client", ["http", "in-process"])
async def test_a_producer_outlives_its_client_and_a_reconnect_gets_exactly_the_missing_events(served, client):
    http: httpx.AsyncClient = served["clients"][client]
    streams: BackgroundStreams = served["streams"]
    job = f"job-{client}"
    async with http.stream("POST", f"/test/jobs/{job}") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first = await read_events(response, limit=3)
    assert [e["sequence_number"] for e in first] == [0, 1, 2]
    await asyncio.sleep(3 * DELAY)  # nobody is connected now
    stored = await streams.log.read_after(job, 2)
    assert stored and streams.running(job), "the producer went on without a client, and is not done yet"

    async with http.stream("GET", f"/test/jobs/{job}", params={"starting_after": 2}) as response:
        rest = await read_events(response)
    assert [e["sequence_number"] for e in rest] == list(range(3, EVENTS + 1))
    assert [e["index"] for e in first + rest[:-1]] == list(range(EVENTS))
    assert rest[-1] == {"type": "test.done", "count": EVENTS, "sequence_number": EVENTS}
    assert not streams.running(job)

    async with http.stream("GET", f"/test/jobs/{job}", params={"starting_after": EVENTS - 1}) as response:
        assert [e["type"] for e in await read_events(response)] == ["test.done"]  # a finished job replays


@pytest.mark.parametrize("client", ["http", "in-process"])
async def test_early_errors_are_plain_4xx_with_the_openai_error_body(served, client):
    http: httpx.AsyncClient = served["clients"][client]
    missing = await http.get("/test/jobs/no-such-job")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    assert missing.json()["error"]["code"] == "not_found"
    await served["streams"].start("known", ticks(1, 0))
    negative = await http.get("/test/jobs/known", params={"starting_after": -5})
    assert negative.status_code == 400 and negative.json()["error"]["param"] == "starting_after"
    refused = await http.get("/test/live", params={"fail_at": 0})
    assert refused.status_code == 400
    assert refused.json() == {"error": {"message": "index 0 is refused", "type": "invalid_request_error",
                                        "param": "fail_at", "code": None}}


@pytest.mark.parametrize("client", ["http", "in-process"])
async def test_late_errors_end_the_stream_with_a_numbered_error_event(served, client):
    http: httpx.AsyncClient = served["clients"][client]
    live = await http.get("/test/live", params={"fail_at": 2})
    assert live.status_code == 200
    assert parse_sse(live.text) == [
        ("test.tick", {"type": "test.tick", "index": 0, "sequence_number": 0}),
        ("test.tick", {"type": "test.tick", "index": 1, "sequence_number": 1}),
        ("error", {"type": "error", "code": "invalid_request_error", "message": "index 0 is refused",
                   "param": "fail_at", "sequence_number": 2}),
    ]
    job = f"failing-{client}"
    async with http.stream("POST", f"/test/jobs/{job}", params={"fail_after": 2}) as response:
        events = await read_events(response)
    assert [e["type"] for e in events] == ["test.tick", "test.tick", "error"]
    assert events[-1]["sequence_number"] == 2 and events[-1]["code"] == "provider_error"
    assert "the upstream went away" in events[-1]["message"]


async def test_a_websocket_echo_works_the_same_over_the_network_and_in_process(served):
    async def converse(socket: Any) -> list[Any]:
        await socket.send("hello")
        first = await socket.recv()
        await socket.send("again")
        second = await socket.recv()
        await socket.send("bye")
        return [first, second]

    async with websockets.connect(f"{served['ws_url']}/test/echo") as socket:
        over_network = await converse(socket)
        with pytest.raises(websockets.ConnectionClosedOK):
            await socket.recv()
    async with served["stack"].websocket("/test/echo") as socket:
        in_process = await converse(socket)
        assert [message async for message in socket] == []  # the app closed normally: iteration ends
    assert over_network == in_process == ["echo: hello", "echo: again"]
