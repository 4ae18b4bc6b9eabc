"""HTTP routes of the inference API (OpenAI paths)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import ListPage, returns
from polystack.apis.http import JSONBody, direct, impl_of, respond
from polystack.apis.inference.protocol import Inference, StoredChatCompletions
from polystack.apis.inference.served_by import with_served_by
from polystack.apis.inference.stored import (
    DeletedChatCompletion,
    StoredChatCompletion,
    StoredChatMessage,
    UpdateChatCompletionRequest,
)
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)

router = APIRouter(tags=["inference"])
inference = Depends(impl_of(Api.inference))


@router.post("/chat/completions", summary="Create a chat completion (SSE when stream=true)",
             responses=returns(ChatCompletion))
@direct(ChatCompletionRequest, Api.inference)
async def create_chat_completion(body: ChatCompletionRequest, impl: Inference = inference) -> Response:
    return with_served_by(await respond(await impl.chat_completion(body)), body)


@router.post("/completions", summary="Create a legacy text completion (SSE when stream=true)",
             responses=returns(Completion))
@direct(CompletionRequest, Api.inference)
async def create_completion(body: CompletionRequest, impl: Inference = inference) -> Response:
    return with_served_by(await respond(await impl.completion(body)), body)


@router.post("/embeddings", summary="Create embeddings", responses=returns(CreateEmbeddingResponse))
@direct(EmbeddingsRequest, Api.inference)
async def create_embeddings(body: EmbeddingsRequest, impl: Inference = inference) -> Response:
    return with_served_by(await respond(await impl.embeddings(body)), body)


# ---- stored chat completions ------------------------------------------------------------------


def _metadata_filter(request: Request) -> dict[str, str]:
    """OpenAI clients send `metadata[key]=value` query parameters."""
    return {key[9:-1]: value for key, value in request.query_params.items()
            if key.startswith("metadata[") and key.endswith("]")}


@router.get("/chat/completions", summary="List stored chat completions",
             responses=returns(ListPage[StoredChatCompletion]))
async def list_chat_completions(
    request: Request,
    after: str | None = Query(default=None, description="Continue after this completion id."),
    limit: int = Query(default=20, ge=1, description="Page size; OpenAI sets no maximum."),
    model: str | None = None,
    order: Literal["asc", "desc"] = "desc",
    impl: StoredChatCompletions = inference,
) -> Response:
    return JSONBody(await impl.list_chat_completions(after=after, limit=limit, model=model, order=order,
                                                     metadata=_metadata_filter(request)))


@router.get("/chat/completions/{completion_id}", summary="Retrieve a stored chat completion",
             responses=returns(StoredChatCompletion))
async def get_chat_completion(completion_id: str, impl: StoredChatCompletions = inference) -> Response:
    return JSONBody(await impl.get_chat_completion(completion_id))


@router.post("/chat/completions/{completion_id}", summary="Update a stored chat completion's metadata",
             responses=returns(StoredChatCompletion))
async def update_chat_completion(completion_id: str, body: UpdateChatCompletionRequest,
                                 impl: StoredChatCompletions = inference) -> Response:
    return JSONBody(await impl.update_chat_completion(completion_id, body))


@router.get("/chat/completions/{completion_id}/messages", summary="List a stored completion's input messages",
             responses=returns(ListPage[StoredChatMessage]))
async def list_chat_completion_messages(
    completion_id: str,
    after: str | None = None,
    limit: int = Query(default=20, ge=1),
    order: Literal["asc", "desc"] = "asc",
    impl: StoredChatCompletions = inference,
) -> Response:
    return JSONBody(await impl.list_chat_completion_messages(completion_id, after=after, limit=limit, order=order))


@router.delete("/chat/completions/{completion_id}", summary="Delete a stored chat completion",
             responses=returns(DeletedChatCompletion))
async def delete_chat_completion(completion_id: str, impl: StoredChatCompletions = inference) -> Response:
    return JSONBody(await impl.delete_chat_completion(completion_id))
