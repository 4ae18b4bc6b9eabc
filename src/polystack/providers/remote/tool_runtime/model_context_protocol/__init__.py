"""remote::model-context-protocol: the tools of MCP servers, as tool groups registered with an mcp_endpoint."""

from __future__ import annotations

from typing import Any

from polystack.core.impls import ProviderDeps
from polystack.providers.remote.tool_runtime.model_context_protocol.config import ModelContextProtocolConfig


async def create(config: ModelContextProtocolConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.remote.tool_runtime.model_context_protocol.runtime import ModelContextProtocolRuntime

    return ModelContextProtocolRuntime(config)
