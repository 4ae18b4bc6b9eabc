"""HTTP routes of the models API: OpenAI's list/retrieve plus Llama Stack's register/unregister."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.models.protocol import Models
from polystack.apis.models.types import ModelList, RegisterModelRequest

router = APIRouter(tags=["models"])
models = Depends(impl_of(Api.models))


@router.get("/models", summary="List models (OpenAI list shape, with custom_metadata)")
async def list_models(impl: Models = models) -> Response:
    return JSONBody(ModelList(data=[model.to_openai() for model in await impl.list_models()]))


@router.get("/models/{model_id:path}", summary="Retrieve a model")
async def get_model(model_id: str, impl: Models = models) -> Response:
    return JSONBody((await impl.get_model(model_id)).to_openai())


@router.post("/models", summary="Register a model or an alias")
async def register_model(body: RegisterModelRequest, impl: Models = models) -> Response:
    return JSONBody((await impl.register_model(body)).to_openai())


@router.delete("/models/{model_id:path}", summary="Unregister a model", status_code=204)
async def unregister_model(model_id: str, impl: Models = models) -> Response:
    await impl.unregister_model(model_id)
    return Response(status_code=204)
