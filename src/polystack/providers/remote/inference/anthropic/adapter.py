"""AnthropicInferenceAdapter: OpenAI chat served by Anthropic's Messages API over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from polystack.apis.errors import NotImplementedByProviderError
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)
from polystack.apis.models.types import ModelType, ProviderModel
from polystack.providers.remote.inference.anthropic.config import AnthropicConfig, AnthropicProviderData
from polystack.providers.remote.inference.anthropic.request import build_messages_call
from polystack.providers.remote.inference.anthropic.response import to_chat_completion
from polystack.providers.remote.inference.anthropic.stream import StreamTranslator
from polystack.providers.utils.native_api.adapter import NativeAPIAdapter


class AnthropicInferenceAdapter(NativeAPIAdapter[AnthropicConfig]):
    """Chat completions (plain and streamed, with tools) on Anthropic; no legacy completions or embeddings."""

    provider_id = "anthropic"
    vendor = "Anthropic"
    provider_data = AnthropicProviderData
    key_field = "anthropic_api_key"
    models_path = "/v1/models"
    page_size_param = "limit"
    unfinished_stream = "the stream ended before the message was complete"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": self.config.anthropic_version}

    def next_page(self, page: dict[str, Any]) -> dict[str, Any] | None:
        return {"after_id": page["last_id"]} if page.get("has_more") and page.get("last_id") else None

    def page_models(self, page: dict[str, Any]) -> list[ProviderModel]:
        return [ProviderModel(provider_resource_id=item["id"], model_type=ModelType.llm,
                              metadata=_model_metadata(item))
                for item in page.get("data") or []]

    def ends_stream(self, event: dict[str, Any]) -> bool:
        return event.get("type") == "message_stop"

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        call = build_messages_call(request, self.config.default_max_tokens)
        response = await self._send("POST", "/v1/messages", body=call.body, stream=bool(request.stream))
        if not request.stream:
            return to_chat_completion(self._json(response), call.json_tool)
        return self._chunks(response, StreamTranslator(self.provider_id, call.json_tool), request)

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        raise NotImplementedByProviderError(
            f"Provider '{self.provider_id}' ({self.vendor}) has no embeddings API; use an embedding provider")


def _model_metadata(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item[key] for key in ("display_name", "created_at") if item.get(key)}
