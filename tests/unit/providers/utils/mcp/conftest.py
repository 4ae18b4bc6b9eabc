"""Real MCP servers on loopback for the MCP client tests, and a client with short timeouts."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from polystack.providers.utils.mcp import McpClient, McpClientSettings
from polystack.testing.mcp_servers import TimeServer, ToolServer

FAST = McpClientSettings(connect_timeout=3, call_timeout=5, close_timeout=3)


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as server:
        yield server


@pytest.fixture(scope="module")
def time_server() -> Iterator[TimeServer]:
    with TimeServer() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[McpClient]:
    async with McpClient(FAST) as mcp:
        yield mcp


def free_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connections_to(port: int) -> int:
    """Established TCP connections whose remote end is 127.0.0.1:`port` (the client side of each)."""
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and int(remote.split(":")[1], 16) == port:
                count += 1
    return count


async def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
