"""Real MCP servers on loopback for the MCP client tests, and a client with short timeouts."""

from __future__ import annotations

import socket
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
