"""What running a tool takes and gives back, in Llama Stack's shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from polystack.apis.json_values import json_problem


class TextContentItem(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ImageContentItem(BaseModel):
    """An image by URL (`{"uri": ...}`) or as base64 `data`."""

    type: Literal["image"] = "image"
    image: dict[str, Any]


ContentItem = Annotated[TextContentItem | ImageContentItem, Field(discriminator="type")]
InterleavedContent = str | ContentItem | list[ContentItem]


class ToolInvocationResult(BaseModel):
    """A tool's output (`content`), or why it failed (`error_message`, `error_code`); `metadata` carries what
    callers use besides the text (web search: `{"results": [{title, url, snippet}]}` for citations)."""

    content: InterleavedContent | None = None
    error_message: str | None = None
    error_code: int | None = None
    metadata: dict[str, Any] | None = None


class InvokeToolRequest(BaseModel):
    """POST /v1/tool-runtime/invoke."""

    model_config = ConfigDict(extra="forbid")

    tool_name: str = Field(min_length=1, description="A tool of a registered group; `toolgroup_id/tool_name` "
                           "picks the group when several offer the tool.")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments.")
    authorization: str | None = Field(default=None, description="OAuth token for an MCP server (never logged).",
                                      repr=False)

    @field_validator("kwargs")
    @classmethod
    def _json(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        problem = json_problem(kwargs)
        if problem is not None:
            raise ValueError(f"'{problem[0]}': {problem[1]}")
        return kwargs
