"""HTTP routes of the Safety API: Llama Stack's run-shield and OpenAI's moderations."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.safety.protocol import Safety
from polystack.apis.safety.types import ModerationObject, ModerationRequest, RunShieldRequest, RunShieldResponse

router = APIRouter(tags=["safety"])
safety = Depends(impl_of(Api.safety))


@router.post("/safety/run-shield", summary="Run a shield on a conversation (violation or none)",
             responses=returns(RunShieldResponse))
async def run_shield(body: RunShieldRequest, impl: Safety = safety) -> Response:
    return JSONBody(await impl.run_shield(body))


@router.post("/moderations", summary="Classify text as OpenAI's moderations do, with a shield as the model",
             responses=returns(ModerationObject))
async def create_moderation(body: ModerationRequest, impl: Safety = safety) -> Response:
    return JSONBody(await impl.run_moderation(body))
