"""HTTP routes of the providers API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.providers.protocol import Providers
from polystack.apis.providers.types import ProviderInfo, ProviderList

router = APIRouter(tags=["providers"])
providers = Depends(impl_of(Api.providers))


@router.get("/providers", summary="List providers", responses=returns(ProviderList))
async def list_providers(impl: Providers = providers) -> Response:
    return JSONBody(ProviderList(data=await impl.list_providers()))


@router.get("/providers/{provider_id}", summary="Retrieve a provider", responses=returns(ProviderInfo))
async def get_provider(provider_id: str, impl: Providers = providers) -> Response:
    return JSONBody(await impl.get_provider(provider_id))
