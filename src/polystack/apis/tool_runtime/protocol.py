"""The tool runtime contract: what each tool_runtime provider implements, and what its router serves.

A provider is one folder under providers/{inline,remote}/tool_runtime/ and implements `ToolRuntime`. Two
optional attributes let later providers plug in without changing the router:
- `lists_mcp_endpoints = True`: the provider serves groups registered with an `mcp_endpoint` and answers
  `list_runtime_tools(None, mcp_endpoint)` for GET /v1/tool-runtime/list-tools?mcp_endpoint=... (MCP);
- `tool_store`: set by the stack to the tool groups table, for a provider that needs a tool's group (its
  endpoint, its args) when invoked: `await self.tool_store.resolve_tool(name)`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from polystack.apis.tool_groups.types import URL, ListToolDefsResponse
from polystack.apis.tool_runtime.types import ToolInvocationResult


@runtime_checkable
class ToolRuntime(Protocol):
    """A tool_runtime provider (brave-search, tavily-search, ...), and the router in front of them."""

    async def list_runtime_tools(self, tool_group_id: str | None = None,
                                 mcp_endpoint: URL | None = None) -> ListToolDefsResponse:
        """The tools of a group this provider serves (or of an MCP endpoint)."""
        ...

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any]) -> ToolInvocationResult:
        """Run a tool; a bad argument is a 400 naming it, an upstream failure the provider's error."""
        ...
