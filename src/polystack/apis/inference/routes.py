"""HTTP routes of the inference API (OpenAI paths)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.http import impl_of, respond
from polystack.apis.inference.protocol import Inference
from polystack.apis.inference.types import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest

router = APIRouter(tags=["inference"])
inference = Depends(impl_of(Api.inference))


@router.post("/chat/completions", summary="Create a chat completion (SSE when stream=true)")
async def create_chat_completion(body: ChatCompletionRequest, impl: Inference = inference) -> Response:
    return await respond(await impl.chat_completion(body))


@router.post("/completions", summary="Create a legacy text completion (SSE when stream=true)")
async def create_completion(body: CompletionRequest, impl: Inference = inference) -> Response:
    return await respond(await impl.completion(body))


@router.post("/embeddings", summary="Create embeddings")
async def create_embeddings(body: EmbeddingsRequest, impl: Inference = inference) -> Response:
    return await respond(await impl.embeddings(body))
