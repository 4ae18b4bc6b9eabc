"""Tool groups and tool definitions, in Llama Stack's shapes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from polystack.apis.datatypes import Resource
from polystack.apis.json_values import json_problem


class URL(BaseModel):
    """Llama Stack's URL object: `{"uri": "..."}`."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(min_length=1)


class ToolDef(BaseModel):
    """A tool a group offers: its name and the JSON Schema of its arguments."""

    toolgroup_id: str | None = None
    name: str
    description: str | None = None
    input_schema: dict[str, Any] | None = Field(default=None, description="JSON Schema of the tool's kwargs.")
    output_schema: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class ToolGroup(Resource):
    """A registered group of tools, served by one tool_runtime provider."""

    type: Literal["tool_group"] = "tool_group"
    mcp_endpoint: URL | None = None
    args: dict[str, Any] | None = None

    def to_public(self) -> dict[str, Any]:
        """Llama Stack's ToolGroup: the owner and internal metadata stay on the server."""
        return self.model_dump(mode="json", exclude={"owner", "metadata"})


class PublicToolGroup(BaseModel):
    """The tool group object the routes answer with (`ToolGroup.to_public()`)."""

    identifier: str
    provider_resource_id: str
    provider_id: str
    type: Literal["tool_group"] = "tool_group"
    mcp_endpoint: URL | None = None
    args: dict[str, Any] | None = None


class RegisterToolGroupRequest(BaseModel):
    """POST /v1/toolgroups."""

    model_config = ConfigDict(extra="forbid")

    toolgroup_id: str = Field(min_length=1, max_length=256, description="The id tools are grouped under.")
    provider_id: str = Field(min_length=1, description="The tool_runtime provider serving the group.")
    mcp_endpoint: URL | None = Field(default=None, description="The MCP server of an MCP tool group.")
    args: dict[str, Any] | None = Field(default=None, description="Arguments the provider gives the group's tools.")

    @field_validator("args")
    @classmethod
    def _storable(cls, args: dict[str, Any] | None) -> dict[str, Any] | None:
        problem = json_problem(args) if args is not None else None
        if problem is not None:
            raise ValueError(f"'{problem[0]}': {problem[1]}")
        return args


class ListToolGroupsResponse(BaseModel):
    data: list[PublicToolGroup]


class ListToolDefsResponse(BaseModel):
    data: list[ToolDef]
