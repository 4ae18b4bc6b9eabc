"""What an MCP server's tools look like to Polystack: a tool definition and the result of one call."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class McpToolDef(BaseModel):
    """One tool as the server lists it; `input_schema` is the JSON schema of its arguments."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    annotations: dict[str, Any] | None = None  # readOnlyHint, destructiveHint, ... under their wire names


class McpCallResult(BaseModel):
    """A tool call's outcome: a tool that failed is `is_error=True` with its message in `text`, not an exception."""

    model_config = ConfigDict(frozen=True)

    text: str  # the text of every text content part, joined by newlines
    structured_content: Any = None  # a JSON value (an object, through protocol 2025-11-25)
    is_error: bool = False
    content: list[dict[str, Any]] = Field(default_factory=list)  # every content part (images, resources) as sent
