"""A client that leaves cancels a routed call: the upstream request is closed, and no retry follows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn

from polystack.core.config import parse_run_config
from polystack.core.server.app import create_app
from polystack.core.stack import Stack
from polystack.testing.faulty_upstream import FaultyUpstream
from polystack.testing.tcp_proxy import unused_port


@pytest.fixture
async def upstream() -> AsyncIterator[FaultyUpstream]:
    async with FaultyUpstream("a") as fake:
        yield fake


@pytest.fixture
async def server(upstream: FaultyUpstream, tmp_path) -> AsyncIterator[int]:
    """The real app behind a real uvicorn server, in this event loop, routing to the faulty upstream."""
    routing = {"deployments": [{"model": "a/m", "first_byte_seconds": 30}],
               "retry": {"retries": 3, "backoff_seconds": 2, "max_backoff_seconds": 2}}
    config = parse_run_config({
        "version": 2, "distro_name": "gateway-disconnect", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "a", "provider_type": "remote::vllm",
                                     "config": {"url": upstream.base_url, "refresh_models": False}}]},
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}}},
        "registered_resources": {"models": [{"model_id": "smart", "metadata": {"routing": routing}}]},
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


async def _post(port: int, stream: bool) -> asyncio.StreamWriter:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = json.dumps({"model": "smart", "messages": [{"role": "user", "content": "hi"}],
                          "stream": stream}).encode()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                 b"content-length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    await writer.drain()
    return writer


async def _until(check, seconds: float = 3.0) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.02)):
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_leaving_closes_the_routed_upstream_request(server: int, upstream: FaultyUpstream, stream: bool) -> None:
    upstream.mode = "hang"
    writer = await _post(server, stream)
    assert await _until(lambda: upstream.hanging == 1)
    writer.close()
    assert await _until(lambda: upstream.hanging == 0), "the upstream request stayed open"


async def test_leaving_during_a_backoff_stops_the_retries(server: int, upstream: FaultyUpstream) -> None:
    upstream.mode = "429:2"  # Retry-After: the next try would come 2 s later
    writer = await _post(server, False)
    assert await _until(lambda: upstream.received == 1)
    writer.close()
    await asyncio.sleep(2.5)  # past the backoff: a call still running would have retried by now
    assert upstream.received == 1
