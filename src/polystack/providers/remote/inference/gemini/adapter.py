"""GeminiInferenceAdapter: OpenAI chat and embeddings served by Gemini's native API over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from polystack.apis.errors import PolystackError, ProviderError
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)
from polystack.apis.models.types import ProviderModel
from polystack.providers.remote.inference.gemini.config import GeminiConfig, GeminiProviderData
from polystack.providers.remote.inference.gemini.embeddings import batch_bodies, to_embedding_response
from polystack.providers.remote.inference.gemini.models import to_provider_model
from polystack.providers.remote.inference.gemini.request import build_generate_body, model_path
from polystack.providers.remote.inference.gemini.response import to_chat_completion
from polystack.providers.remote.inference.gemini.stream import StreamTranslator
from polystack.providers.utils.native_api.adapter import NativeAPIAdapter
from polystack.providers.utils.openai_compat.errors import status_error


class GeminiInferenceAdapter(NativeAPIAdapter[GeminiConfig]):
    """Chat completions (plain and streamed, with tools) and embeddings on Gemini; no legacy completions.

    The key travels in the x-goog-api-key header, never in the URL, so it cannot reach access logs.
    """

    provider_id = "gemini"
    vendor = "Gemini"
    provider_data = GeminiProviderData
    key_field = "gemini_api_key"
    models_path = "/models"
    page_size_param = "pageSize"
    unfinished_stream = "the stream ended before any candidate finished"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-goog-api-key": key}

    def next_page(self, page: dict[str, Any]) -> dict[str, Any] | None:
        return {"pageToken": page["nextPageToken"]} if page.get("nextPageToken") else None

    def page_models(self, page: dict[str, Any]) -> list[ProviderModel]:
        """Chat models, and the embedding models whose dimension is known."""
        return [model for item in page.get("models") or [] if (model := to_provider_model(item))]

    def error_for_status(self, provider_id: str, status: int, content: bytes) -> PolystackError:
        """Like `status_error`, but Gemini answers a bad key with 400 API_KEY_INVALID: treat that as 401."""
        if status == 400 and b"API_KEY_INVALID" in content:
            status = 401
        return status_error(provider_id, status, content)

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        body = build_generate_body(request)
        if not request.stream:
            response = await self._send("POST", model_path(request.model, "generateContent"), body=body)
            return to_chat_completion(self._json(response), request.model)
        response = await self._send("POST", model_path(request.model, "streamGenerateContent"), body=body,
                                    params={"alt": "sse"}, stream=True)
        return self._chunks(response, StreamTranslator(self.provider_id, request.model), request)

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        path = model_path(request.model, "batchEmbedContents")
        name = path[1:].rpartition(":")[0]
        vectors: list[list[float]] = []
        for body in batch_bodies(request, name):
            answer = self._json(await self._send("POST", path, body=body))
            got = [item.get("values") or [] for item in answer.get("embeddings") or []]
            if len(got) != len(body["requests"]):
                raise ProviderError(self.provider_id, f"returned {len(got)} embeddings for "
                                                      f"{len(body['requests'])} inputs")
            vectors.extend(got)
        return to_embedding_response(vectors, request.model, request.encoding_format)
