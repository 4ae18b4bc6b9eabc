"""The MCP client layer: pooled sessions to MCP servers (streamable HTTP and SSE) over the official SDK.

The names load on first use: the SDK's import costs about a second, and a config or settings module that
only needs `polystack.providers.utils.mcp.settings` must not pay it at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polystack.providers.utils.mcp.client import McpClient
    from polystack.providers.utils.mcp.credentials import with_authorization
    from polystack.providers.utils.mcp.settings import McpClientSettings
    from polystack.providers.utils.mcp.types import McpCallResult, McpToolDef

_MODULES = {"McpClient": "client", "with_authorization": "credentials", "McpClientSettings": "settings",
            "McpCallResult": "types", "McpToolDef": "types"}

__all__ = ["McpCallResult", "McpClient", "McpClientSettings", "McpToolDef", "with_authorization"]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
