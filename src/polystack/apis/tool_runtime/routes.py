"""HTTP routes of the tool runtime API (Llama Stack's): list a runtime's tools and invoke one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.tool_groups.types import URL, ListToolDefsResponse
from polystack.apis.tool_runtime.protocol import ToolRuntime
from polystack.apis.tool_runtime.types import InvokeToolRequest, ToolInvocationResult

router = APIRouter(tags=["tool_runtime"])
tool_runtime = Depends(impl_of(Api.tool_runtime))

_LIST_TOOLS_QUERY: dict[str, Any] = {"parameters": [
    {"name": "mcp_endpoint[uri]", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The MCP server to list tools of (`mcp_endpoint` with the bare URI works too)."},
]}


@router.get("/tool-runtime/list-tools", summary="List the tools of a tool group or an MCP endpoint",
            responses=returns(ListToolDefsResponse), openapi_extra=_LIST_TOOLS_QUERY)
async def list_runtime_tools(request: Request, tool_group_id: str | None = None,
                             impl: ToolRuntime = tool_runtime) -> Response:
    # llama-stack-client sends the URL object as `mcp_endpoint[uri]=...`; plain clients send `mcp_endpoint=...`
    uri = request.query_params.get("mcp_endpoint[uri]") or request.query_params.get("mcp_endpoint")
    endpoint = URL(uri=uri) if uri else None
    return JSONBody(await impl.list_runtime_tools(tool_group_id, endpoint))


@router.post("/tool-runtime/invoke", summary="Run a tool", responses=returns(ToolInvocationResult))
async def invoke_tool(body: InvokeToolRequest, impl: ToolRuntime = tool_runtime) -> Response:
    return JSONBody(await impl.invoke_tool(body.tool_name, body.kwargs))
