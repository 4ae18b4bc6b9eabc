"""HTTP routes of the Shields API: list, get, register and unregister shields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.safety.protocol import Shields
from polystack.apis.safety.types import RegisterShieldRequest, Shield, ShieldList

router = APIRouter(tags=["shields"])
shields = Depends(impl_of(Api.shields))


def _wire(shield: Shield) -> dict[str, Any]:
    """Llama Stack's shield object; the owner stays on the server."""
    return shield.model_dump(mode="json", exclude={"owner"})


@router.get("/shields", summary="List shields", responses=returns(ShieldList))
async def list_shields(impl: Shields = shields) -> Response:
    return JSONBody({"data": [_wire(shield) for shield in await impl.list_shields()]})


@router.get("/shields/{identifier:path}", summary="Get a shield", responses=returns(Shield))
async def get_shield(identifier: str, impl: Shields = shields) -> Response:
    return JSONBody(_wire(await impl.get_shield(identifier)))


@router.post("/shields", summary="Register a shield", responses=returns(Shield))
async def register_shield(body: RegisterShieldRequest, impl: Shields = shields) -> Response:
    return JSONBody(_wire(await impl.register_shield(body)))


@router.delete("/shields/{identifier:path}", summary="Unregister a shield", status_code=204)
async def unregister_shield(identifier: str, impl: Shields = shields) -> Response:
    await impl.unregister_shield(identifier)
    return Response(status_code=204)
