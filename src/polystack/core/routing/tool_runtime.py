"""The tool runtime router: finds the group and provider of a tool, checks its arguments, and runs it."""

from __future__ import annotations

import logging
from typing import Any

from polystack.apis.errors import InvalidRequestError, NotFoundError, PolystackError, ProviderError
from polystack.apis.tool_groups.types import URL, ListToolDefsResponse
from polystack.apis.tool_runtime.context import invoking_in
from polystack.apis.tool_runtime.rag import InsertDocumentsRequest, RAGQueryRequest, RAGQueryResult, RAGToolRuntime
from polystack.apis.tool_runtime.types import ToolInvocationResult
from polystack.core.routing.tool_groups import ToolGroupsRoutingTable
from polystack.core.telemetry.tracing import span

logger = logging.getLogger("polystack.tool_runtime")

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


class ToolRuntimeRouter:
    """Serves the tool runtime API over the providers of the tool groups table."""

    def __init__(self, table: ToolGroupsRoutingTable) -> None:
        self.table = table

    async def list_runtime_tools(self, tool_group_id: str | None = None,
                                 mcp_endpoint: URL | None = None) -> ListToolDefsResponse:
        """A group's tools; an MCP endpoint's, from the provider that speaks MCP; else every readable group's."""
        if tool_group_id is not None:
            return ListToolDefsResponse(data=await self.table.list_tools(tool_group_id))
        if mcp_endpoint is not None:
            for provider in self.table.providers.values():
                if getattr(provider, "lists_mcp_endpoints", False):
                    return await provider.list_runtime_tools(None, mcp_endpoint)
            raise InvalidRequestError("No tool_runtime provider of this server lists the tools of an MCP endpoint "
                                      "(configure remote::model-context-protocol), or pass tool_group_id",
                                      param="mcp_endpoint")
        return ListToolDefsResponse(data=await self.table.list_tools())

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any]) -> ToolInvocationResult:
        tool, group = await self.table.resolve_tool(tool_name)
        check_arguments(tool.input_schema, kwargs)
        provider = self.table.provider_of(group)
        try:
            with span(f"tool {tool.name}", {"gen_ai.tool.name": tool.name, "polystack.provider_id": group.provider_id}
                      ), invoking_in(group):  # a provider reads the group (MCP endpoint, RAG args) from here
                return await provider.invoke_tool(tool.name, kwargs)
        except PolystackError:
            raise
        except Exception as exc:  # a provider's bug is its error, named, not a bare 500
            logger.exception("tool '%s' of provider '%s' failed", tool.name, group.provider_id)
            raise ProviderError(group.provider_id, f"tool '{tool.name}' failed ({type(exc).__name__})") from exc

    # ---- the rag-tool sub-API (Llama Stack's rag_tool.insert / rag_tool.query) --------------------------

    def _rag(self) -> RAGToolRuntime:
        for provider in self.table.providers.values():
            if isinstance(provider, RAGToolRuntime):
                return provider
        raise NotFoundError("This server has no RAG tool runtime: configure an inline::rag-runtime tool_runtime "
                            "provider", param="rag-tool")

    async def insert(self, request: InsertDocumentsRequest) -> None:
        await self._rag().insert(request)

    async def query(self, request: RAGQueryRequest) -> RAGQueryResult:
        return await self._rag().query(request)


def check_arguments(schema: dict[str, Any] | None, kwargs: dict[str, Any]) -> None:
    """A 400 naming the first argument missing, or of the wrong JSON type, per the tool's input schema.

    Only the top level is checked (what a model most often gets wrong); the provider checks the rest.
    """
    if not schema:
        return
    properties = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in kwargs:
            raise InvalidRequestError(f"Missing required argument '{name}' for this tool", param=f"kwargs.{name}")
    for name, value in kwargs.items():
        spec = properties.get(name)
        if spec is None:
            if schema.get("additionalProperties") is False:
                raise InvalidRequestError(f"Unknown argument '{name}' for this tool; it takes: "
                                          f"{', '.join(sorted(properties)) or 'none'}", param=f"kwargs.{name}")
            continue
        expected = spec.get("type") if isinstance(spec, dict) else None
        types = [expected] if isinstance(expected, str) else expected if isinstance(expected, list) else []
        if types and not any(_is(value, kind) for kind in types):
            raise InvalidRequestError(f"Argument '{name}' must be of type {' or '.join(map(str, types))}",
                                      param=f"kwargs.{name}")


def _is(value: Any, kind: object) -> bool:
    accepted = _JSON_TYPES.get(str(kind))
    if accepted is None:
        return True  # a type this check does not know: the provider decides
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, accepted)
