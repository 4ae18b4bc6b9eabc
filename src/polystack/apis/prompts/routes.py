"""HTTP routes of the prompts API (Llama Stack's paths). Its updates are served as POST, as Llama Stack
publishes them, and also as PUT, as its API declares them (PUT is left out of the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.prompts.protocol import Prompts
from polystack.apis.prompts.types import (
    CreatePromptRequest,
    ListPromptsResponse,
    Prompt,
    SetDefaultVersionRequest,
    UpdatePromptRequest,
)

router = APIRouter(tags=["prompts"])
prompts = Depends(impl_of(Api.prompts))


@router.get("/prompts", summary="List prompts (the default version of each)", responses=returns(ListPromptsResponse))
async def list_prompts(impl: Prompts = prompts) -> Response:
    return JSONBody(await impl.list_prompts())


@router.post("/prompts", summary="Create a prompt (version 1, its default)", responses=returns(Prompt))
async def create_prompt(body: CreatePromptRequest, impl: Prompts = prompts) -> Response:
    return JSONBody(await impl.create_prompt(body.prompt, body.variables))


@router.get("/prompts/{prompt_id}", summary="Get a prompt: a version, or its default", responses=returns(Prompt))
async def get_prompt(prompt_id: str,
                     version: int | None = Query(default=None, ge=1, description="Default: the default version."),
                     impl: Prompts = prompts) -> Response:
    return JSONBody(await impl.get_prompt(prompt_id, version))


@router.post("/prompts/{prompt_id}", summary="Update a prompt: a new version after the latest",
             responses=returns(Prompt))
@router.put("/prompts/{prompt_id}", include_in_schema=False)
async def update_prompt(prompt_id: str, body: UpdatePromptRequest, impl: Prompts = prompts) -> Response:
    return JSONBody(await impl.update_prompt(prompt_id, body.prompt, body.version, body.variables,
                                             body.set_as_default))


@router.delete("/prompts/{prompt_id}", summary="Delete a prompt and all its versions", status_code=204)
async def delete_prompt(prompt_id: str, impl: Prompts = prompts) -> Response:
    await impl.delete_prompt(prompt_id)
    return Response(status_code=204)


@router.get("/prompts/{prompt_id}/versions", summary="List a prompt's versions, oldest first",
            responses=returns(ListPromptsResponse))
async def list_prompt_versions(prompt_id: str, impl: Prompts = prompts) -> Response:
    return JSONBody(await impl.list_prompt_versions(prompt_id))


@router.post("/prompts/{prompt_id}/set-default-version", summary="Choose the version served by default",
             responses=returns(Prompt))
@router.put("/prompts/{prompt_id}/set-default-version", include_in_schema=False)
async def set_default_version(prompt_id: str, body: SetDefaultVersionRequest, impl: Prompts = prompts) -> Response:
    return JSONBody(await impl.set_default_version(prompt_id, body.version))
