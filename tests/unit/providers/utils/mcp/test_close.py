"""close(): every session ends (the server is told), no task and no connection is left behind."""

from __future__ import annotations

import asyncio
import time

import pytest

from polystack.apis.errors import ServiceUnavailableError
from polystack.providers.utils.mcp import McpClient
from tests.unit.providers.utils.mcp.conftest import FAST, connections_to, wait_until


# A loop of its own: the suite's shared loop also runs other tests' background tasks (a files-expiry sweeper,
# an event-log follower), whose periodic `wait_for` makes a new task that is none of this client's.
@pytest.mark.asyncio(loop_scope="function")
async def test_close_ends_every_session_and_leaves_no_task_or_socket(tools, time_server):
    tasks_before = asyncio.all_tasks()
    client = McpClient(FAST)
    await client.call_tool(tools.http_url, None, "echo", {"text": "a"})
    await client.call_tool(tools.sse_url, None, "echo", {"text": "b"}, authorization="someone")
    await client.call_tool(time_server.http_url, None, "get_current_time", {"timezone": "UTC"})
    running = asyncio.create_task(client.call_tool(tools.http_url, None, "sleep", {"seconds": 30}))
    await asyncio.sleep(0.2)
    assert len(client.pool) == 3 and connections_to(tools.port) >= 2 and connections_to(time_server.port) >= 1

    started = time.monotonic()
    await client.close()

    assert time.monotonic() - started < FAST.close_timeout
    with pytest.raises(ServiceUnavailableError):  # the call in flight ends with the session
        await running
    assert await wait_until(lambda: asyncio.all_tasks() == tasks_before), asyncio.all_tasks() - tasks_before
    assert await wait_until(lambda: connections_to(tools.port) == 0 and connections_to(time_server.port) == 0)
    assert len(client.pool) == 0


async def test_a_closed_client_opens_no_new_session(tools):
    client = McpClient(FAST)
    await client.close()

    with pytest.raises(ServiceUnavailableError, match="closed"):
        await client.call_tool(tools.http_url, None, "echo", {"text": "x"})
