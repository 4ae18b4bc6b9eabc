"""No configured secret or caller's key leaves the process, whatever an upstream echoes back.

A real upstream on loopback echoes the credentials it receives in its error bodies (400, 404, 429,
500, 502, a plain-text 503 and a mid-stream error event); the stack runs in-process on the same ASGI app
as the server, with the real aiohttp transport.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

import polystack
from polystack.core.config import parse_run_config

CONFIGURED_KEY = "sk-configured-key-8f3a9c2e"
CALLER_KEY = "sk-caller-key-5d1b7e40"
HEADER_SECRET = "hdr-secret-0c4f2a99"
URL_PASSWORD = "url-password-77e1d3"
SECRETS = (CONFIGURED_KEY, CALLER_KEY, HEADER_SECRET, URL_PASSWORD)


def _echo(request: web.Request) -> str:
    return (f"invalid credentials: {request.headers.get('Authorization')} "
            f"custom={request.headers.get('X-Custom-Auth')} url={request.url}")


async def _chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    kind = body["model"]
    echo = _echo(request)
    if kind.startswith("status-"):
        return web.json_response({"error": {"message": echo, "type": "x"}}, status=int(kind[7:]))
    if kind == "plain-503":
        return web.Response(status=503, text=f"upstream overloaded\n{echo}")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": kind,
             "choices": [{"index": 0, "delta": {"content": "a"}}]}
    await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await response.write(f"data: {json.dumps({'error': {'message': echo}})}\n\n".encode())
    return response


@pytest.fixture
async def echoing_upstream() -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()


def _config(port: int) -> object:
    return parse_run_config({
        "version": 2, "distro_name": "secrets-test", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{
            "provider_id": "upstream", "provider_type": "remote::vllm",
            "config": {"url": f"http://127.0.0.1:{port}/v1", "api_key": CONFIGURED_KEY,
                       "refresh_models": False, "extra_headers": {"X-Custom-Auth": HEADER_SECRET}},
        }, {  # never called: its URL's password must still not show in GET /v1/providers
            "provider_id": "behind-proxy", "provider_type": "remote::vllm",
            "config": {"url": f"http://proxyuser:{URL_PASSWORD}@127.0.0.1:9/v1", "refresh_models": False},
        }]},
    }, env={})


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("caller_key", [False, True], ids=["configured-key", "caller-key"])
async def test_upstream_errors_echoing_credentials_never_reach_callers_or_logs(
        echoing_upstream: int, caller_key: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    data = {"vllm_api_token": CALLER_KEY} if caller_key else None
    seen: list[str] = []
    async with polystack.connect(_config(echoing_upstream), provider_data=data) as stack:
        for model in ("status-400", "status-404", "status-422", "status-429", "status-500", "status-502",
                      "plain-503"):
            response = await stack.http.post("/v1/chat/completions", json={
                "model": f"upstream/{model}", "messages": [{"role": "user", "content": "hi"}]})
            assert response.status_code >= 400 and "error" in response.json()
            seen.append(response.text)
        response = await stack.http.post("/v1/chat/completions", json={
            "model": "upstream/mid-stream", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 200 and '"error"' in response.text
        seen.append(response.text)
        providers = await stack.http.get("/v1/providers")
        assert providers.status_code == 200
        seen.append(providers.text)
    assert "invalid credentials" in "".join(seen)  # the upstream's message still gets through, masked
    assert "********" in "".join(seen)
    for text in seen:
        _assert_clean(text)
    _assert_clean(caplog.text)
    _assert_clean("\n".join(str(record.msg) for record in caplog.records))
