"""HTTP routes of the tool groups API (Llama Stack's): /v1/toolgroups and /v1/tools."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.tool_groups.protocol import ToolGroups
from polystack.apis.tool_groups.types import (
    ListToolDefsResponse,
    ListToolGroupsResponse,
    PublicToolGroup,
    RegisterToolGroupRequest,
    ToolDef,
)

router = APIRouter(tags=["tool_groups"])
tool_groups = Depends(impl_of(Api.tool_groups))


@router.get("/toolgroups", summary="List tool groups", responses=returns(ListToolGroupsResponse))
async def list_tool_groups(impl: ToolGroups = tool_groups) -> Response:
    return JSONBody({"data": [group.to_public() for group in await impl.list_tool_groups()]})


@router.get("/toolgroups/{toolgroup_id:path}", summary="Get a tool group", responses=returns(PublicToolGroup))
async def get_tool_group(toolgroup_id: str, impl: ToolGroups = tool_groups) -> Response:
    return JSONBody((await impl.get_tool_group(toolgroup_id)).to_public())


@router.post("/toolgroups", summary="Register a tool group", responses=returns(PublicToolGroup))
async def register_tool_group(body: RegisterToolGroupRequest, impl: ToolGroups = tool_groups) -> Response:
    return JSONBody((await impl.register_tool_group(body)).to_public())


@router.delete("/toolgroups/{toolgroup_id:path}", summary="Unregister a tool group", status_code=204)
async def unregister_tool_group(toolgroup_id: str, impl: ToolGroups = tool_groups) -> Response:
    await impl.unregister_toolgroup(toolgroup_id)
    return Response(status_code=204)


@router.get("/tools", summary="List tools, optionally of one tool group", responses=returns(ListToolDefsResponse))
async def list_tools(toolgroup_id: str | None = None, impl: ToolGroups = tool_groups) -> Response:
    return JSONBody(ListToolDefsResponse(data=await impl.list_tools(toolgroup_id)))


@router.get("/tools/{tool_name:path}", summary="Get a tool definition", responses=returns(ToolDef))
async def get_tool(tool_name: str, impl: ToolGroups = tool_groups) -> Response:
    return JSONBody(await impl.get_tool(tool_name))
