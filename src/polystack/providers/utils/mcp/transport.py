"""Which MCP transport an endpoint speaks, and opening it with the SDK's clients (streamable HTTP or SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx2
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from polystack.providers.utils.mcp.settings import McpClientSettings, TransportMode

Transport = Literal["streamable_http", "sse"]
ResponseHook = Callable[[httpx2.Response], Any]


def first_transport(endpoint: str, mode: TransportMode) -> Transport:
    """SSE for a URL whose path ends in /sse (the legacy convention), else streamable HTTP, unless `mode` says."""
    if mode != "auto":
        return mode
    return "sse" if urlsplit(endpoint).path.rstrip("/").endswith("/sse") else "streamable_http"


def open_transport(kind: Transport, endpoint: str, headers: Mapping[str, str], settings: McpClientSettings,
                   on_response: ResponseHook) -> AbstractAsyncContextManager[Any]:
    """The SDK's transport context for `kind`; `on_response` sees every HTTP response (for the handshake status)."""
    timeout = httpx2.Timeout(settings.connect_timeout, read=settings.sse_read_timeout)

    def make_client(headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = timeout,
                    auth: httpx2.Auth | None = None) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth,
                                  event_hooks={"response": [on_response]})

    if kind == "sse":
        return sse_client(endpoint, headers=dict(headers), timeout=settings.connect_timeout,
                          sse_read_timeout=settings.sse_read_timeout, httpx_client_factory=make_client)
    return _streamable(endpoint, make_client(dict(headers)))


@asynccontextmanager
async def _streamable(endpoint: str, client: httpx2.AsyncClient) -> AsyncIterator[Any]:
    """The streamable HTTP transport over a client we made (so that we set its headers), closing both."""
    async with client, streamable_http_client(endpoint, http_client=client) as streams:
        yield streams
