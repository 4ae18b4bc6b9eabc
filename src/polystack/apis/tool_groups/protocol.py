"""The tool groups contract: register, list, get and unregister tool groups, and read their tools."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from polystack.apis.tool_groups.types import RegisterToolGroupRequest, ToolDef, ToolGroup


@runtime_checkable
class ToolGroups(Protocol):
    async def register_tool_group(self, request: RegisterToolGroupRequest) -> ToolGroup:
        """Register a group for a provider, owned by the caller."""
        ...

    async def list_tool_groups(self) -> list[ToolGroup]:
        """The groups the caller may read."""
        ...

    async def get_tool_group(self, toolgroup_id: str) -> ToolGroup:
        """One group; NotFoundError when unknown or another caller's."""
        ...

    async def unregister_toolgroup(self, toolgroup_id: str) -> None:
        """Remove a group the caller may delete."""
        ...

    async def list_tools(self, toolgroup_id: str | None = None) -> list[ToolDef]:
        """The tools of one group, or of every group the caller may read."""
        ...

    async def get_tool(self, tool_name: str) -> ToolDef:
        """One tool by name (or `toolgroup_id/tool_name`); NotFoundError when no readable group offers it."""
        ...
