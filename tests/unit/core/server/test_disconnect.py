"""A client that leaves before the response starts cancels its request, upstream call included."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn

from polystack.core.config import parse_run_config
from polystack.core.server.app import create_app
from polystack.core.stack import Stack
from polystack.testing.fake_upstream import FakeUpstream, chat
from polystack.testing.tcp_proxy import unused_port


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def server(upstream: FakeUpstream) -> AsyncIterator[int]:
    """The real app behind a real uvicorn server, in this event loop, proxying to the fake upstream."""
    config = parse_run_config({
        "version": 2, "distro_name": "disconnect-test", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "up", "provider_type": "remote::vllm",
                                     "config": {"url": upstream.base_url, "refresh_models": False}}]},
    }, env={})
    stack = Stack(config)
    await stack.start()
    port = unused_port()
    uv = uvicorn.Server(uvicorn.Config(create_app(stack, manage_lifecycle=False), host="127.0.0.1", port=port,
                                       log_level="warning", lifespan="off", http="httptools",
                                       timeout_graceful_shutdown=1))
    serving = asyncio.create_task(uv.serve())
    while not uv.started:
        await asyncio.sleep(0.01)
    yield port
    uv.should_exit = True
    await serving
    await stack.stop()


async def _post_then_leave(port: int, body: dict[str, object], upstream: FakeUpstream) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = json.dumps(body).encode()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                 b"content-length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    await writer.drain()
    assert await upstream.wait_for("slow_started", 1)
    writer.close()  # the caller gives up before any byte of the response


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_client_leaving_before_the_response_starts_cancels_the_upstream_request(
        server: int, upstream: FakeUpstream, stream: bool) -> None:
    await _post_then_leave(server, {**chat("up/slow"), "stream": stream}, upstream)
    assert await upstream.wait_for("abandoned", 1, timeout=3), "the upstream request stayed open"


async def test_requests_that_stay_are_answered_through_the_middleware(server: int, upstream: FakeUpstream) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server}") as client:
        replies = await asyncio.gather(*(client.post("/v1/chat/completions", json=chat("up/fast")) for _ in range(5)))
    assert [r.status_code for r in replies] == [200] * 5
    assert replies[0].json()["choices"][0]["message"]["content"] == "ok"


async def test_client_leaving_mid_stream_cancels_the_stream_and_closes_its_upstream_request(
        server: int, upstream: FakeUpstream) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    payload = json.dumps({**chat("up/stalled"), "stream": True}).encode()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                 b"content-length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"data: "), 10)  # the response started: one chunk came
    assert b"200 OK" in head
    writer.close()  # the caller leaves while the stream waits on its upstream
    assert await upstream.wait_for("abandoned", 1, timeout=5), "the upstream stream stayed open"
