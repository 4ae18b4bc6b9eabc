"""Config of remote::model-context-protocol (the MCP client's timeouts and bounds), and the caller's headers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from polystack.providers.utils.mcp.settings import McpClientSettings


class ModelContextProtocolConfig(McpClientSettings):
    """The MCP client's settings; every field has a default, so `config: {}` works."""

    model_config = ConfigDict(extra="forbid")

    transport: Literal["auto", "streamable_http", "sse"] = Field(default="auto", description=(
        "How to reach servers: auto tries streamable HTTP, then SSE (an endpoint ending in /sse uses SSE)."))


class ModelContextProtocolProviderData(BaseModel):
    """Llama Stack's provider data for MCP: `{"mcp_headers": {"<endpoint URI>": {"<header>": "<value>"}}}`.

    Headers go only to the endpoint they are listed under (matched on host and path); they are credentials,
    never logged. Unknown keys are ignored.
    """

    model_config = ConfigDict(extra="allow")

    mcp_headers: dict[str, dict[str, str]] | None = None
