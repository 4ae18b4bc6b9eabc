"""The tool groups routing table: registered tool groups, the tools each one offers, and which serves a tool."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from polystack.apis.errors import InvalidRequestError, NotFoundError
from polystack.apis.tool_groups.types import URL, RegisterToolGroupRequest, ToolDef, ToolGroup
from polystack.apis.tool_runtime.protocol import ToolRuntime
from polystack.core.registered_resources import ToolGroupInput
from polystack.core.registry import ResourceRegistry
from polystack.core.routing.resource_table import ResourceTable

logger = logging.getLogger("polystack.tool_runtime")

MAX_INDEXED_GROUPS = 1024  # tool lists kept in memory; the oldest is dropped (and listed again when needed)


def tool_group_of(entry: ToolGroupInput | RegisterToolGroupRequest) -> ToolGroup:
    return ToolGroup(
        identifier=entry.toolgroup_id, provider_id=entry.provider_id, provider_resource_id=entry.toolgroup_id,
        mcp_endpoint=URL(uri=entry.mcp_endpoint.uri) if entry.mcp_endpoint else None, args=entry.args)


class ToolGroupsRoutingTable(ResourceTable[ToolGroup, ToolRuntime]):
    """Serves the tool groups API, and tells the tool runtime router which group and provider serve a tool.

    A ResourceTable of tool groups (registry, owner, cross-replica lookups: see resource_table.py). A group's
    tools come from its provider's `list_runtime_tools`, kept in memory per version of the group (its
    provider, endpoint and args), so a group re-registered elsewhere is listed again rather than served stale.
    """

    def __init__(self, providers: dict[str, ToolRuntime], registry: ResourceRegistry, *,
                 cache_seconds: float = 5.0) -> None:
        super().__init__(ToolGroup, "tool_group", providers, registry, cache_seconds=cache_seconds)
        self._tools: dict[str, list[ToolDef]] = {}

    async def start(self, configured: Iterable[ToolGroup | ToolGroupInput] = ()) -> None:
        await super().start(entry if isinstance(entry, ToolGroup) else tool_group_of(entry) for entry in configured)
        for group in list(self._cache.values()):
            if group.owner is None and group.provider_id not in self.providers:
                # a run config's group from an earlier start whose provider is off now (starter without its key)
                logger.info("dropping tool group '%s': its provider '%s' is not configured", group.identifier,
                            group.provider_id)
                await self.forget(group.identifier)

    # ---- the tool groups API --------------------------------------------------------------------

    async def register_tool_group(self, request: RegisterToolGroupRequest) -> ToolGroup:
        provider = self.providers.get(request.provider_id)
        if request.mcp_endpoint is not None and provider is not None and not getattr(
                provider, "lists_mcp_endpoints", False):
            raise InvalidRequestError(f"Provider '{request.provider_id}' does not serve MCP endpoints; register the "
                                      "group without mcp_endpoint, or for an MCP provider", param="mcp_endpoint")
        group = await self.register(tool_group_of(request))
        if group.mcp_endpoint is None:  # list at once, so a provider that cannot serve the group fails here
            await self.tools_of(group)
        return group

    async def list_tool_groups(self) -> list[ToolGroup]:
        return await self.list()

    async def get_tool_group(self, toolgroup_id: str) -> ToolGroup:
        group = await self.get(toolgroup_id)
        if group is None:
            raise NotFoundError(f"Tool group '{toolgroup_id}' not found; list them with GET /v1/toolgroups",
                                param="toolgroup_id")
        return group

    async def unregister_toolgroup(self, toolgroup_id: str) -> None:
        group = await self.get_tool_group(toolgroup_id)
        await self.unregister(group.identifier)
        self._tools.pop(_version(group), None)

    async def list_tools(self, toolgroup_id: str | None = None) -> list[ToolDef]:
        """The tools of one group (its provider's failure is the caller's error), or of every readable group
        (a group whose provider fails is left out and logged, so one down server does not hide the rest)."""
        if toolgroup_id is not None:
            return list(await self.tools_of(await self.get_tool_group(toolgroup_id)))
        tools: list[ToolDef] = []
        for group in await self.list():
            listed = await self._tools_or_none(group)
            tools.extend(listed or ())
        return tools

    async def get_tool(self, tool_name: str) -> ToolDef:
        tool, _ = await self.resolve_tool(tool_name)
        return tool

    # ---- lookups used by the router ---------------------------------------------------------------

    async def resolve_tool(self, tool_name: str) -> tuple[ToolDef, ToolGroup]:
        """The tool and the group serving it. `toolgroup_id/tool_name` names the group; a bare name is looked
        up in every readable group, in order of their ids (the first that offers it serves it)."""
        group_id, _, name = tool_name.rpartition("/")
        if group_id:
            group = await self.get(group_id)
            if group is not None:
                for tool in await self.tools_of(group):
                    if tool.name == name:
                        return tool, group
        for group in await self.list():
            for tool in await self._tools_or_none(group) or ():
                if tool.name == tool_name:
                    return tool, group
        raise NotFoundError(f"Tool '{tool_name}' not found in any tool group you can use; list them with "
                            "GET /v1/tools", param="tool_name")

    def provider_of(self, group: ToolGroup) -> ToolRuntime:
        provider = self.providers.get(group.provider_id)
        if provider is None:  # registered on a replica that has a provider this one lacks
            raise NotFoundError(f"Tool group '{group.identifier}' is served by provider '{group.provider_id}', "
                                "which this server does not run", param="toolgroup_id")
        return provider

    async def tools_of(self, group: ToolGroup) -> list[ToolDef]:
        """The group's tools from its provider, listed once per version of the group."""
        key = _version(group)
        tools = self._tools.get(key)
        if tools is None:
            listed = await self.provider_of(group).list_runtime_tools(group.identifier, group.mcp_endpoint)
            tools = [tool.model_copy(update={"toolgroup_id": group.identifier}) for tool in listed.data]
            if len(self._tools) >= MAX_INDEXED_GROUPS:
                self._tools.pop(next(iter(self._tools)))
            self._tools[key] = tools
        return tools

    async def _tools_or_none(self, group: ToolGroup) -> list[ToolDef] | None:
        try:
            return await self.tools_of(group)
        except Exception as exc:  # noqa: BLE001 - one failing group must not hide the others
            logger.warning("listing the tools of tool group '%s' failed: %s", group.identifier, exc)
            return None


def _version(group: ToolGroup) -> str:
    return group.model_dump_json(include={"identifier", "provider_id", "mcp_endpoint", "args"})
