"""An upstream's error status reaches our caller with its Retry-After and rate-limit headers, and nothing else."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import polystack
from polystack.apis.datatypes import Api
from polystack.apis.errors import ProviderError, QuotaExceededError
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.core.config import parse_run_config
from polystack.providers.remote.inference.openai.config import OpenaiConfig
from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter
from polystack.testing.settings import MODE_ENV

LIMITS = {"retry-after": "7", "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0",
          "x-ratelimit-reset-requests": "7s"}
PRIVATE = {"set-cookie": "session=upstream-only", "x-request-id": "req-upstream"}
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def _answer(model: str) -> Response:
    error = {"error": {"message": f"{model} says no", "type": "x", "param": None, "code": None}}
    if model == "limited":
        return JSONResponse(error, status_code=429, headers={**LIMITS, **PRIVATE})
    if model == "overloaded":
        return JSONResponse(error, status_code=503, headers={"retry-after": "30", **PRIVATE})
    # "broken": the stream starts fine, then its first event is an error
    return Response(b"data: " + json.dumps(error).encode() + b"\n\n", media_type="text/event-stream")


async def _chat(request: Request) -> Response:
    return _answer((await request.json())["model"])


async def _models(request: Request) -> JSONResponse:
    names = ("limited", "overloaded", "broken")
    return JSONResponse({"object": "list", "data": [{"id": n, "object": "model", "owned_by": "t"} for n in names]})


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A real HTTP upstream (Starlette under uvicorn, on loopback, in a thread) that answers errors by model."""
    app = Starlette(routes=[Route("/v1/models", _models),
                            Route("/v1/chat/completions", _chat, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="limited-upstream", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the upstream did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/v1"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
async def library(upstream: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv(MODE_ENV, "live")  # our own upstream: nothing to record or replay
    config = parse_run_config({
        "distro_name": "upstream-errors",
        "providers": {"inference": [{"provider_id": "up", "provider_type": "remote::openai",
                                     "config": {"base_url": upstream, "api_key": "sk-test"}}]},
        "models": {"refresh_interval_seconds": 0},
    }, env={})
    async with polystack.connect(config) as stack:
        yield stack


@pytest.mark.parametrize("stream", [False, True])
async def test_a_rate_limited_upstream_passes_retry_after_and_rate_limit_headers_to_the_caller(library, stream):
    response = await library.http.post("/v1/chat/completions", json={"model": "up/limited", "stream": stream, **CHAT})
    assert response.status_code == 429
    assert {name: response.headers.get(name) for name in LIMITS} == LIMITS
    assert "set-cookie" not in response.headers and response.headers["x-request-id"] != PRIVATE["x-request-id"]
    assert response.json()["error"]["type"] == "rate_limit_exceeded"
    assert "limited says no" in response.json()["error"]["message"]


async def test_an_overloaded_upstream_is_a_503_with_its_retry_after(library):
    response = await library.http.post("/v1/chat/completions", json={"model": "up/overloaded", **CHAT})
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert response.json()["error"]["code"] == "provider_error"


async def test_the_router_pulls_the_first_chunk_so_an_early_stream_error_is_the_calls_own(library):
    router = library.stack.impls[Api.inference]
    request = ChatCompletionRequest.model_validate({"model": "up/broken", "stream": True, **CHAT})
    with pytest.raises(ProviderError, match="broken says no"):
        await router.chat_completion(request)  # raised here, before the caller iterates anything
    response = await library.http.post("/v1/chat/completions", json={"model": "up/broken", "stream": True, **CHAT})
    assert response.status_code == 502 and response.headers["content-type"] == "application/json"


async def test_headers_are_kept_on_the_error_raised_by_the_shared_client():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": {"message": "slow down"}}, headers={**LIMITS, **PRIVATE})

    config = OpenaiConfig(api_key="sk-test", base_url="http://upstream.test/v1")
    client = httpx.AsyncClient(base_url=config.base_url, transport=httpx.MockTransport(handler))
    adapter = OpenAICompatAdapter(config, api_key_field="openai_api_key", client=client)
    with pytest.raises(QuotaExceededError) as info:
        await adapter.chat_completion(ChatCompletionRequest.model_validate({"model": "m", **CHAT}))
    assert info.value.headers == LIMITS


async def test_exchange_goes_straight_to_the_clients_transport_and_keeps_what_send_gives():
    from polystack.providers.utils.upstream import exchange

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True}, headers={"content-encoding": "identity"})

    hooked: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        hooked.append(str(request.url))

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://up") as client:
        request = client.build_request("POST", "/v1/x", content=b"{}")
        response = await exchange(client, request)
        streamed = await exchange(client, client.build_request("GET", "/v1/y"), stream=True)
        assert [chunk async for chunk in streamed.aiter_bytes()] == [b'{"ok":true}']
        await streamed.aclose()
    assert response.json() == {"ok": True} and response.request is request
    assert [r.url.path for r in seen] == ["/v1/x", "/v1/y"] and "timeout" in seen[0].extensions
    hooks = {"request": [on_request]}
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), event_hooks=hooks) as client:
        await exchange(client, client.build_request("GET", "http://up/v1/z"))  # a hook: client.send runs it
    assert hooked == ["http://up/v1/z"]
