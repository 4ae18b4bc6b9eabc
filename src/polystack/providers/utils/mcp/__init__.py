"""The MCP client layer: pooled sessions to MCP servers (streamable HTTP and SSE) over the official SDK."""

from polystack.providers.utils.mcp.client import McpClient
from polystack.providers.utils.mcp.credentials import with_authorization
from polystack.providers.utils.mcp.settings import McpClientSettings
from polystack.providers.utils.mcp.types import McpCallResult, McpToolDef

__all__ = ["McpCallResult", "McpClient", "McpClientSettings", "McpToolDef", "with_authorization"]
