"""The inference router: finds the provider that owns `model` and forwards the call to it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from polystack.apis.errors import InvalidRequestError, NotImplementedByProviderError
from polystack.apis.inference.stored import UpdateChatCompletionRequest
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionChunk,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)
from polystack.apis.models.types import Model, ModelType
from polystack.core.request_context import current_user
from polystack.core.request_log import note_model
from polystack.core.routing.models import ModelsRoutingTable
from polystack.core.stores.chat_stream import ChatStreamAccumulator
from polystack.core.stores.inference import InferenceStore


def mint_completion_id() -> str:
    """An id unique in this server: upstreams reuse theirs (some always answer the same one)."""
    return f"chatcmpl-{uuid.uuid4().hex}"


class InferenceRouter:
    """Implements the Inference API over every configured inference provider, and stores chat completions."""

    def __init__(self, table: ModelsRoutingTable, store: InferenceStore | None = None) -> None:
        self.table = table
        self.store = store

    async def _route(self, model_id: str, wanted: ModelType) -> tuple[Model, Any]:
        note_model(model_id)
        model, impl = await self.table.resolve(model_id)
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
        model, impl = await self._route(request.model, ModelType.llm)
        result = await impl.chat_completion(request.model_copy(update={"model": model.provider_resource_id}))
        stored = self.store is not None and request.store is not False
        if hasattr(result, "__aiter__"):
            return self._relay(result, model.identifier, request if stored else None, mint_completion_id())
        result.model = model.identifier
        upstream_id, result.id = result.id, mint_completion_id()
        if stored:
            assert self.store is not None
            await self.store.record(result, request.messages, request.metadata, current_user.get(),
                                    upstream_id=upstream_id)
        return result  # type: ignore[no-any-return]

    async def _relay(self, chunks: AsyncIterator[Any], identifier: str,
                     stored: ChatCompletionRequest | None = None,
                     completion_id: str | None = None) -> AsyncIterator[Any]:
        """Pass chunks through under the caller's model name (and `completion_id`); once a stream to store
        has ended, store it.

        One generator for both jobs: each layer of async generator costs every chunk a few microseconds.
        """
        accumulator = ChatStreamAccumulator() if stored is not None else None
        upstream_id: str | None = None
        try:
            async for chunk in chunks:
                chunk.model = identifier
                if completion_id is not None:
                    upstream_id = upstream_id or chunk.id
                    chunk.id = completion_id
                if accumulator is not None:
                    accumulator.add(chunk)
                yield chunk
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        if accumulator is not None and stored is not None and self.store is not None:
            await self.store.record(accumulator.completion(), stored.messages, stored.metadata, current_user.get(),
                                    upstream_id=upstream_id)

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[CompletionChunk]:
        model, impl = await self._route(request.model, ModelType.llm)
        result = await impl.completion(request.model_copy(update={"model": model.provider_resource_id}))
        if hasattr(result, "__aiter__"):
            return self._relay(result, model.identifier)
        result.model = model.identifier
        return result  # type: ignore[no-any-return]

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        model, impl = await self._route(request.model, ModelType.embedding)
        result = await impl.embeddings(request.model_copy(update={"model": model.provider_resource_id}))
        result.model = model.identifier
        return result  # type: ignore[no-any-return]

    # ---- stored chat completions -------------------------------------------------------------

    def _need_store(self) -> InferenceStore:
        if self.store is None:
            raise NotImplementedByProviderError(
                "Stored chat completions are not enabled on this server (configure storage.stores.inference)")
        return self.store

    async def list_chat_completions(self, *, after: str | None, limit: int, model: str | None,
                                    order: Any, metadata: dict[str, str]) -> dict[str, Any]:
        return await self._need_store().list(after=after, limit=limit, model=model, order=order,
                                             metadata=metadata)

    async def get_chat_completion(self, completion_id: str) -> dict[str, Any]:
        return await self._need_store().get(completion_id)

    async def list_chat_completion_messages(self, completion_id: str, *, after: str | None, limit: int,
                                            order: Any) -> dict[str, Any]:
        return await self._need_store().messages(completion_id, after=after, limit=limit, order=order)

    async def update_chat_completion(self, completion_id: str, request: UpdateChatCompletionRequest
                                     ) -> dict[str, Any]:
        return await self._need_store().update_metadata(completion_id, request.metadata)

    async def delete_chat_completion(self, completion_id: str) -> dict[str, Any]:
        return await self._need_store().delete(completion_id)

