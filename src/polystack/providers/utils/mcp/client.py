"""`McpClient`: list and call the tools of MCP servers, with pooled sessions and a cached tool list per caller.

The one entry point for the Responses engine's `mcp` tool and the `remote::model-context-protocol` tool
runtime. Every failure comes out as a Polystack error naming the server's host; a tool that fails is a
result with `is_error=True`.

    client = McpClient(McpClientSettings(call_timeout=30), provider_id="model-context-protocol")
    tools = await client.list_tools(server_url, headers, authorization=token)   # cached per credentials
    result = await client.call_tool(server_url, headers, "get_current_time", {"timezone": "UTC"},
                                    authorization=token)                      # result.text, .is_error
    await client.close()                                                      # on provider shutdown

Errors: ServiceUnavailableError (503, code mcp_server_unreachable) when the server cannot be reached;
ProviderTimeoutError (504) past the connect or call timeout; ProviderError (502) for a refused handshake
(HTTP 401/403/404...) or a JSON-RPC error; InvalidRequestError (400, param "arguments") when the server
rejects the call's parameters (e.g. an unknown tool).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Self

from mcp.client.session import ClientSession
from mcp_types import CallToolResult, PaginatedRequestParams, TextContent, Tool

from polystack.apis.errors import PolystackError, ProviderError
from polystack.providers.utils.mcp.cache import TtlCache
from polystack.providers.utils.mcp.credentials import endpoint_host, session_key, with_authorization
from polystack.providers.utils.mcp.errors import as_polystack_error
from polystack.providers.utils.mcp.pool import McpSessionPool
from polystack.providers.utils.mcp.settings import McpClientSettings, TransportMode
from polystack.providers.utils.mcp.types import McpCallResult, McpToolDef

logger = logging.getLogger(__name__)

MAX_TOOL_PAGES = 100  # a server whose cursor never ends cannot hang a listing


class McpClient:
    """Talks to any number of MCP servers; `close()` (or leaving `async with`) closes every session."""

    def __init__(self, settings: McpClientSettings | None = None, *, provider_id: str = "mcp",
                 transport: TransportMode = "auto") -> None:
        self.settings = settings or McpClientSettings()
        self.provider_id = provider_id
        self.pool = McpSessionPool(self.settings, transport=transport)
        self.tool_lists: TtlCache[str, list[McpToolDef]] = TtlCache(
            ttl=self.settings.tool_list_ttl, max_entries=self.settings.tool_list_max_entries)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.pool.close()
        self.tool_lists.clear()

    async def list_tools(self, endpoint: str, headers: Mapping[str, str] | None = None, *,
                         authorization: str | None = None, refresh: bool = False) -> list[McpToolDef]:
        """The server's tools, from the cache for this (endpoint, credentials) unless stale or `refresh`."""
        sent = with_authorization(headers, authorization)
        key = session_key(endpoint, sent)
        cached = None if refresh else self.tool_lists.get(key)
        if cached is not None:
            return list(cached)
        tools = await self._run(endpoint, sent, _list_all_tools, self.settings.call_timeout, "tools/list")
        listed = [_tool_def(tool) for tool in tools]
        self.tool_lists.put(key, listed)
        return list(listed)

    async def call_tool(self, endpoint: str, headers: Mapping[str, str] | None, name: str,
                        arguments: Mapping[str, Any] | None = None, *, authorization: str | None = None,
                        timeout: float | None = None) -> McpCallResult:  # noqa: ASYNC109 - also sent to the SDK
        """Calls tool `name`; a tool error is a result with `is_error=True`, a failure to reach it an exception."""
        sent = with_authorization(headers, authorization)
        limit = timeout if timeout is not None else self.settings.call_timeout
        args = dict(arguments or {})

        async def call(session: ClientSession) -> CallToolResult:
            return await session.call_tool(name, args, read_timeout_seconds=limit)

        result = await self._run(endpoint, sent, call, limit, f"tools/call '{name}'", idempotent=False)
        return _call_result(result)

    def forget_tools(self, endpoint: str, headers: Mapping[str, str] | None = None, *,
                     authorization: str | None = None) -> None:
        """Drops the cached tool list of (endpoint, credentials), e.g. after the server said it changed."""
        self.tool_lists.invalidate(session_key(endpoint, with_authorization(headers, authorization)))

    async def _run(self, endpoint: str, headers: Mapping[str, str], operation: Any, time_limit: float,
                   action: str, *, idempotent: bool = True) -> Any:
        _check_endpoint(endpoint, self.provider_id)
        try:
            # The caller's guard a little past the SDK's own request timeout, which also tells the server.
            return await self.pool.run(endpoint, headers, operation, time_limit + 1.0, idempotent=idempotent)
        except Exception as exc:  # noqa: BLE001 - every failure is said as a Polystack error
            error = as_polystack_error(exc, provider_id=self.provider_id, endpoint=endpoint, headers=headers,
                                       action=action, time_limit=time_limit)
            if not isinstance(exc, PolystackError):
                logger.info("MCP %s at %s failed: %s", action, endpoint_host(endpoint), error.message)
            raise error from None


async def _list_all_tools(session: ClientSession) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _tool_def(tool: Tool) -> McpToolDef:
    annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else None
    return McpToolDef(name=tool.name, description=tool.description, input_schema=tool.input_schema,
                      annotations=annotations or None)


def _call_result(result: CallToolResult) -> McpCallResult:
    text = "\n".join(part.text for part in result.content if isinstance(part, TextContent))
    return McpCallResult(text=text, structured_content=result.structured_content, is_error=bool(result.is_error),
                         content=[part.model_dump(by_alias=True, mode="json", exclude_none=True)
                                  for part in result.content])


def _check_endpoint(endpoint: str, provider_id: str) -> None:
    if not endpoint.startswith(("http://", "https://")):
        raise ProviderError(provider_id, "an MCP server URL must start with http:// or https://")
