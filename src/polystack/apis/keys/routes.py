"""HTTP routes of the virtual keys admin API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.keys.protocol import Keys
from polystack.apis.keys.types import ApiKey, ApiKeyList, ApiKeyRevoked, ApiKeyUsage, ApiKeyWithSecret, CreateKeyRequest

router = APIRouter(tags=["keys"])
admin = Depends(impl_of("keys"))


@router.post("/keys", summary="Create a virtual API key (its secret is in this answer only)",
             responses=returns(ApiKeyWithSecret))
async def create_key(body: CreateKeyRequest, impl: Keys = admin) -> Response:
    return JSONBody(await impl.create_key(body))


@router.get("/keys", summary="List virtual API keys", responses=returns(ApiKeyList))
async def list_keys(limit: int = Query(default=20, ge=1, le=100), after: str | None = None,
                    impl: Keys = admin) -> Response:
    return JSONBody(await impl.list_keys(limit, after))


@router.get("/keys/{key_id}", summary="Get a virtual API key", responses=returns(ApiKey))
async def get_key(key_id: str, impl: Keys = admin) -> Response:
    return JSONBody(await impl.get_key(key_id))


@router.post("/keys/{key_id}/rotate", summary="Give a key a new secret; the old one stops working",
             responses=returns(ApiKeyWithSecret))
async def rotate_key(key_id: str, impl: Keys = admin) -> Response:
    return JSONBody(await impl.rotate_key(key_id))


@router.delete("/keys/{key_id}", summary="Revoke a key (kept, with its usage, for the record)",
               responses=returns(ApiKeyRevoked))
async def revoke_key(key_id: str, impl: Keys = admin) -> Response:
    return JSONBody(await impl.revoke_key(key_id))


@router.get("/keys/{key_id}/usage", summary="A key's requests and tokens, per model", responses=returns(ApiKeyUsage))
async def key_usage(key_id: str, impl: Keys = admin) -> Response:
    return JSONBody(await impl.key_usage(key_id))
