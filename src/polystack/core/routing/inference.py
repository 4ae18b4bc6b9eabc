"""The inference router: finds the provider that owns `model` and forwards the call to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from polystack.apis.errors import InvalidRequestError
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)
from polystack.apis.models.types import Model, ModelType
from polystack.core.routing.models import ModelsRoutingTable


class InferenceRouter:
    """Implements the Inference API over every configured inference provider."""

    def __init__(self, table: ModelsRoutingTable) -> None:
        self.table = table

    def _route(self, model_id: str, wanted: ModelType) -> tuple[Model, Any]:
        model, impl = self.table.resolve(model_id)
        if wanted == ModelType.embedding and model.model_type != ModelType.embedding:
            raise InvalidRequestError(f"model '{model_id}' is not an embedding model", param="model")
        if wanted == ModelType.llm and model.model_type == ModelType.embedding:
            raise InvalidRequestError(
                f"model '{model_id}' is an embedding model; use /v1/embeddings with it", param="model"
            )
        return model, impl

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        model, impl = self._route(request.model, ModelType.llm)
        result = await impl.chat_completion(request.model_copy(update={"model": model.provider_resource_id}))
        return _renamed(result, model.identifier)

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[Completion]:
        model, impl = self._route(request.model, ModelType.llm)
        result = await impl.completion(request.model_copy(update={"model": model.provider_resource_id}))
        return _renamed(result, model.identifier)

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        model, impl = self._route(request.model, ModelType.embedding)
        result = await impl.embeddings(request.model_copy(update={"model": model.provider_resource_id}))
        result.model = model.identifier
        return result  # type: ignore[no-any-return]


def _renamed(result: Any, identifier: str) -> Any:
    """Report the model by the identifier the caller used, for whole responses and streams alike."""
    if hasattr(result, "__aiter__"):
        return _renamed_stream(result, identifier)
    result.model = identifier
    return result


async def _renamed_stream(chunks: AsyncIterator[Any], identifier: str) -> AsyncIterator[Any]:
    try:
        async for chunk in chunks:
            chunk.model = identifier
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
