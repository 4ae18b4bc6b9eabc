"""HTTP routes of the models API: OpenAI's list/retrieve plus Llama Stack's register/unregister."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.models.protocol import Models
from polystack.apis.models.types import Model, ModelList, OpenAIModel, OpenAIModelList, RegisterModelRequest

router = APIRouter(tags=["models"])
models = Depends(impl_of(Api.models))
logger = logging.getLogger("polystack.models")


@router.get("/models", summary="List models (OpenAI list shape, with custom_metadata)",
             responses=returns(OpenAIModelList))
async def list_models(impl: Models = models) -> Response:
    return JSONBody(ModelList(data=[entry for entry in map(_listable, await impl.list_models()) if entry]))


def _listable(model: Model) -> dict[str, Any] | None:
    """The model's OpenAI object, or None (logged) when it cannot be written: one bad entry must not fail all."""
    entry = model.to_openai()
    try:
        orjson.dumps(entry)
    except (TypeError, orjson.JSONEncodeError) as exc:
        logger.warning("leaving model '%s' out of the listing: %s", model.identifier, exc)
        return None
    return entry


@router.get("/models/{model_id:path}", summary="Retrieve a model", responses=returns(OpenAIModel))
async def get_model(model_id: str, impl: Models = models) -> Response:
    return JSONBody((await impl.get_model(model_id)).to_openai())


@router.post("/models", summary="Register a model or an alias", responses=returns(OpenAIModel))
async def register_model(body: RegisterModelRequest, impl: Models = models) -> Response:
    return JSONBody((await impl.register_model(body)).to_openai())


@router.delete("/models/{model_id:path}", summary="Unregister a model", status_code=204)
async def unregister_model(model_id: str, impl: Models = models) -> Response:
    await impl.unregister_model(model_id)
    return Response(status_code=204)
