"""Serves tool_runtime: the tool groups routing table over the tool_runtime providers, and the router in front."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.apis.tool_runtime.protocol import ToolRuntime
from polystack.core.impls import all_as
from polystack.core.routing.tool_groups import ToolGroupsRoutingTable
from polystack.core.routing.tool_runtime import ToolRuntimeRouter
from polystack.core.serving import Providers, ServeContext


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    table = ToolGroupsRoutingTable(all_as(providers, ToolRuntime, Api.tool_runtime), context.registry,
                                   cache_seconds=context.config.models.registry_cache_seconds)
    for provider in table.providers.values():
        if hasattr(provider, "tool_store"):  # providers that look tools up by name (MCP) read the table
            setattr(provider, "tool_store", table)  # noqa: B010 - not part of the ToolRuntime protocol
    await table.start(context.config.registered_resources.tool_groups)
    context.on_stop(table.stop)
    return {Api.tool_groups: table, Api.tool_runtime: ToolRuntimeRouter(table)}
