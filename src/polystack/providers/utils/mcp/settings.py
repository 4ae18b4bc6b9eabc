"""The knobs of the MCP client: timeouts, the session pool's bounds and the tool-list cache."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TransportMode = Literal["auto", "streamable_http", "sse"]


class McpClientSettings(BaseModel):
    """Defaults suit a server on the network; tests shorten them."""

    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to connect and initialize a session.")
    call_timeout: float = Field(default=60.0, gt=0, description="Seconds one tools/list or tools/call may take.")
    sse_read_timeout: float = Field(default=300.0, gt=0, description="Seconds a server's event stream may stay silent.")
    idle_timeout: float = Field(default=300.0, gt=0, description="Seconds an unused session stays open.")
    max_sessions: int = Field(default=64, ge=1, description="Open sessions; the least recently used closes first.")
    tool_list_ttl: float = Field(default=300.0, ge=0, description="Seconds a tool list is reused; 0: never.")
    tool_list_max_entries: int = Field(default=256, ge=1, description="Tool lists cached, per (server, credentials).")
    close_timeout: float = Field(default=5.0, gt=0, description="Seconds a session may take to close cleanly.")
