"""The shared provider client never carries one caller's upstream cookies into another caller's request."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiohttp import web

from polystack.providers.utils.http_client import make_http_client


async def test_cookies_set_by_the_upstream_are_not_sent_back_through_httpx() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=user-a; Path=/"}, json={})

    async with make_http_client(base_url="http://upstream", transport=httpx.MockTransport(handler)) as client:
        await client.get("/first")
        await client.get("/second")
        assert dict(client.cookies) == {}
    assert seen == [None, None]


@pytest.fixture
async def cookie_server() -> tuple[str, list[str | None]]:
    """A real HTTP server on loopback that sets a cookie and records the Cookie header it receives."""
    seen: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = web.json_response({})
        response.set_cookie("session", "user-a")
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_the_default_aiohttp_transport_keeps_no_cookies_either(
        cookie_server: tuple[str, list[str | None]]) -> None:
    url, seen = cookie_server
    async with make_http_client(base_url=url) as client:
        for path in ("/a", "/b", "/c"):
            response = await client.get(path)
            assert response.status_code == 200
        await asyncio.sleep(0)
    assert seen == [None, None, None]
