"""AnthropicInferenceAdapter: OpenAI chat served by Anthropic's Messages API over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from polystack.apis.errors import NotImplementedByProviderError, ProviderError
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)
from polystack.apis.models.types import ModelType, ProviderModel
from polystack.apis.providers.types import HealthStatus
from polystack.providers.remote.inference.anthropic.config import AnthropicConfig, AnthropicProviderData
from polystack.providers.remote.inference.anthropic.request import build_messages_call
from polystack.providers.remote.inference.anthropic.response import to_chat_completion
from polystack.providers.remote.inference.anthropic.stream import StreamTranslator
from polystack.providers.utils.http_client import make_http_client
from polystack.providers.utils.sse import json_events
from polystack.providers.utils.upstream import caller_or_configured_key, json_body, missing_key_error, send


class AnthropicInferenceAdapter:
    """Chat completions (plain and streamed, with tools) on Anthropic; no legacy completions or embeddings."""

    provider_id = "anthropic"
    accepts_unlisted_models = True

    def __init__(self, config: AnthropicConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
        self.client = client or make_http_client(timeout=timeout)

    # ---- plumbing ------------------------------------------------------------------------------

    def _api_key(self) -> str | None:
        return caller_or_configured_key(self.config.api_key, AnthropicProviderData, "anthropic_api_key")

    def _headers(self) -> dict[str, str]:
        key = self._api_key()
        if not key:
            raise missing_key_error(self.provider_id, "anthropic_api_key")
        return {"x-api-key": key, "anthropic-version": self.config.anthropic_version,
                "content-type": "application/json"}

    async def _send(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                    params: dict[str, Any] | None = None, stream: bool = False) -> httpx.Response:
        """Sends one request; an error status is raised here, before any streaming starts."""
        headers = self._headers()
        if stream:
            headers["accept"] = "text/event-stream"
        content = orjson.dumps(body) if body is not None else None
        request = self.client.build_request(method, self.base_url + path, content=content, params=params,
                                             headers=headers)
        return await send(self.client, request, provider_id=self.provider_id, base_url=self.base_url,
                          stream=stream)

    def _json(self, response: httpx.Response) -> Any:
        return json_body(response, self.provider_id)

    def _events(self, response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
        return json_events(response, self.provider_id, self.base_url)

    # ---- the Inference API -----------------------------------------------------------------------

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        call = build_messages_call(request, self.config.default_max_tokens)
        response = await self._send("POST", "/v1/messages", body=call.body, stream=bool(request.stream))
        if not request.stream:
            return to_chat_completion(self._json(response), call.json_tool)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return self._chunks(response, StreamTranslator(self.provider_id, call.json_tool), include_usage)

    async def _chunks(self, response: httpx.Response, translator: StreamTranslator,
                      include_usage: bool) -> AsyncIterator[ChatCompletionChunk]:
        events = self._events(response)
        try:
            async for event in events:
                for chunk in translator.feed(event):
                    yield chunk
                if event.get("type") == "message_stop":
                    break
        finally:
            await events.aclose()  # closes the upstream response even when the caller stops early
        if not translator.finished:
            raise ProviderError(self.provider_id, "the stream ended before the message was complete")
        if include_usage:
            yield translator.usage_chunk()

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[Completion]:
        raise NotImplementedByProviderError(
            f"Provider '{self.provider_id}' (Anthropic) has no legacy text completions; "
            "use /v1/chat/completions")

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        raise NotImplementedByProviderError(
            f"Provider '{self.provider_id}' (Anthropic) has no embeddings API; use an embedding provider")

    async def list_models(self) -> list[ProviderModel] | None:
        """Every model the configured key can use (paged); None without a configured key."""
        if not self.config.refresh_models or not self._api_key():
            return None
        models: list[ProviderModel] = []
        params: dict[str, Any] = {"limit": 1000}
        while True:
            page = self._json(await self._send("GET", "/v1/models", params=params))
            models.extend(ProviderModel(provider_resource_id=item["id"], model_type=ModelType.llm,
                                        metadata=_model_metadata(item))
                          for item in page.get("data") or [])
            if not page.get("has_more") or not page.get("last_id"):
                return models
            params = {"limit": 1000, "after_id": page["last_id"]}

    async def health(self) -> HealthStatus:
        if not self._api_key():
            return HealthStatus(status="OK", message="no API key configured; callers must send their own")
        try:
            self._json(await self._send("GET", "/v1/models", params={"limit": 1}))
        except Exception as exc:  # noqa: BLE001 - health reports the failure instead of raising it
            return HealthStatus(status="Error", message=str(exc))
        return HealthStatus(status="OK")

    async def shutdown(self) -> None:
        await self.client.aclose()


def _model_metadata(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item[key] for key in ("display_name", "created_at") if item.get(key)}
