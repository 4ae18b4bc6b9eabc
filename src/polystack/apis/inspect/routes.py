"""HTTP routes of the inspect API. Health and version need no authentication."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.inspect.protocol import Inspect
from polystack.apis.inspect.types import Health, RouteList, Version

router = APIRouter(tags=["inspect"])
inspect = Depends(impl_of(Api.inspect))

PUBLIC_PATHS = frozenset({"/v1/health", "/v1/version"})


@router.get("/inspect/routes", summary="List the served routes", responses=returns(RouteList))
async def list_routes(impl: Inspect = inspect) -> Response:
    return JSONBody(RouteList(data=await impl.list_routes()))


@router.get("/health", summary="Health check", responses=returns(Health))
async def health(impl: Inspect = inspect) -> Response:
    return JSONBody(await impl.health())


@router.get("/version", summary="Server version", responses=returns(Version))
async def version(impl: Inspect = inspect) -> Response:
    return JSONBody(await impl.version())
