"""The session pool: one session per (endpoint, credentials), reused, bounded, closed when idle or broken."""

from __future__ import annotations

import asyncio
import time

import pytest

from polystack.providers.utils.mcp import McpClient
from polystack.testing.mcp_servers import ToolServer
from tests.unit.providers.utils.mcp.conftest import FAST, connections_to, free_port, wait_until


async def test_one_session_serves_many_calls(client, tools):
    before = tools.stats.initializations

    await client.list_tools(tools.http_url)
    for n in range(5):
        assert (await client.call_tool(tools.http_url, None, "add", {"a": n, "b": 1})).structured_content == {
            "result": n + 1}
    await asyncio.gather(*(client.call_tool(tools.http_url, None, "whoami") for _ in range(5)))

    assert tools.stats.initializations - before == 1  # counted by the server
    assert client.pool.opened == 1 and len(client.pool) == 1


async def test_concurrent_first_calls_share_one_new_session(client, tools):
    before = tools.stats.initializations

    results = await asyncio.gather(*(client.call_tool(tools.sse_url, None, "echo", {"text": str(n)})
                                     for n in range(6)))

    assert [r.text for r in results] == [str(n) for n in range(6)]
    assert tools.stats.initializations - before == 1


async def test_different_credentials_get_different_sessions_and_the_tool_sees_each(client, tools):
    before = tools.stats.initializations

    alice = await client.call_tool(tools.http_url, None, "whoami", authorization="alice-token")
    bob = await client.call_tool(tools.http_url, {"Authorization": "Bearer bob-token"}, "whoami")
    alice_again = await client.call_tool(tools.http_url, None, "whoami", authorization="Bearer alice-token")
    anonymous = await client.call_tool(tools.http_url, None, "whoami")

    assert (alice.text, bob.text, alice_again.text, anonymous.text) == (
        "Bearer alice-token", "Bearer bob-token", "Bearer alice-token", "anonymous")
    assert tools.stats.initializations - before == 3 and len(client.pool) == 3


async def test_header_names_are_case_insensitive_for_session_reuse(client, tools):
    await client.call_tool(tools.http_url, {"X-Api-Key": "k-123", "Accept-Language": "fr"}, "echo", {"text": "a"})
    await client.call_tool(tools.http_url, {"accept-language": "fr", "x-api-key": "k-123"}, "echo", {"text": "b"})

    assert client.pool.opened == 1


async def test_the_sse_transport_passes_the_callers_authorization_too(client, tools):
    result = await client.call_tool(tools.sse_url, None, "whoami", authorization="sse-token")

    assert result.text == "Bearer sse-token"


async def test_beyond_max_sessions_the_least_recently_used_is_closed_and_reopened_when_needed(tools):
    before = tools.stats.initializations
    async with McpClient(FAST.model_copy(update={"max_sessions": 2})) as client:
        for user in ("u1", "u2", "u1", "u3"):  # u2 is the least recently used when u3 arrives
            await client.call_tool(tools.http_url, None, "whoami", authorization=user)
        assert len(client.pool) == 2 and tools.stats.initializations - before == 3

        await client.call_tool(tools.http_url, None, "whoami", authorization="u1")  # still open
        assert tools.stats.initializations - before == 3
        await client.call_tool(tools.http_url, None, "whoami", authorization="u2")  # reopened
        assert tools.stats.initializations - before == 4 and len(client.pool) == 2


async def test_an_evicted_session_finishes_its_call_in_flight(tools):
    async with McpClient(FAST.model_copy(update={"max_sessions": 1})) as client:
        slow = asyncio.create_task(
            client.call_tool(tools.http_url, None, "sleep", {"seconds": 0.5}, authorization="slow-user"))
        await asyncio.sleep(0.2)
        await client.call_tool(tools.http_url, None, "echo", {"text": "x"}, authorization="other-user")

        assert (await slow).text == "slept 0.5"
        assert [transport for _, transport, _ in client.pool.describe()] == ["streamable_http"]


async def test_an_idle_session_is_closed_and_a_later_call_opens_a_new_one(tools):
    before = tools.stats.initializations
    async with McpClient(FAST.model_copy(update={"idle_timeout": 0.3})) as client:
        await client.call_tool(tools.http_url, None, "echo", {"text": "x"})
        await asyncio.sleep(1.0)
        assert len(client.pool) == 0  # closed by the sweeper, without a call

        await client.call_tool(tools.http_url, None, "echo", {"text": "y"})
        assert client.pool.opened == 2 and tools.stats.initializations - before == 2


@pytest.mark.parametrize("url", ["http_url", "sse_url"])
async def test_a_session_broken_by_a_server_restart_is_reopened_once(client, url):
    port = free_port()
    with ToolServer(port) as first:
        await client.call_tool(getattr(first, url), None, "echo", {"text": "before"})
    assert await wait_until(lambda: connections_to(port) == 0)  # the old server's connections are gone
    await asyncio.sleep(0.1)
    with ToolServer(port) as second:  # knows nothing of the first one's session
        started = time.monotonic()
        result = await client.call_tool(getattr(second, url), None, "echo", {"text": "after"})

        assert result.text == "after"
        assert time.monotonic() - started < 2  # found broken at once, not after a call timeout
        assert client.pool.opened == 2 and second.stats.initializations == 1


async def test_a_caller_cancelled_mid_call_leaves_the_session_working(client, tools):
    call = asyncio.create_task(client.call_tool(tools.http_url, None, "sleep", {"seconds": 30}))
    await asyncio.sleep(0.3)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    assert (await client.call_tool(tools.http_url, None, "echo", {"text": "ok"})).text == "ok"
    assert client.pool.opened == 1 and client.pool.describe()[0][2] == 0  # nothing left in flight
