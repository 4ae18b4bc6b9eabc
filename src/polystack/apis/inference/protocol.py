"""The inference contract: what every inference provider implements and the router serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, runtime_checkable

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
from polystack.apis.models.types import ProviderModel


@runtime_checkable
class Inference(Protocol):
    """Chat, completions and embeddings in OpenAI's shapes.

    A provider receives the request with `model` already set to its own model id.
    """

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """A chat completion; an async iterator of chunks when `request.stream` is true."""
        ...

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[CompletionChunk]:
        """A legacy text completion; an async iterator of chunks when `request.stream` is true."""
        ...

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        """Embeddings for one or many inputs."""
        ...


@runtime_checkable
class InferenceProvider(Inference, Protocol):
    """An inference provider also says which models it serves."""

    async def list_models(self) -> list[ProviderModel] | None:
        """The models this provider serves now; None when it cannot tell (nothing is changed)."""
        ...

    async def shutdown(self) -> None:
        """Release sockets, threads and model memory."""
        ...


@runtime_checkable
class StoredChatCompletions(Protocol):
    """Reads of stored chat completions (OpenAI's GET /v1/chat/completions family); served by the router."""

    async def list_chat_completions(
        self, *, after: str | None, limit: int, model: str | None, order: Literal["asc", "desc"],
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """A page of stored completions, newest first by default, each with its `input_messages`."""
        ...

    async def get_chat_completion(self, completion_id: str) -> dict[str, Any]:
        ...

    async def list_chat_completion_messages(
        self, completion_id: str, *, after: str | None, limit: int, order: Literal["asc", "desc"]
    ) -> dict[str, Any]:
        ...

    async def update_chat_completion(self, completion_id: str, request: UpdateChatCompletionRequest
                                     ) -> dict[str, Any]:
        """Replace a stored completion's metadata; returns the completion as GET does."""
        ...

    async def delete_chat_completion(self, completion_id: str) -> dict[str, Any]:
        ...
