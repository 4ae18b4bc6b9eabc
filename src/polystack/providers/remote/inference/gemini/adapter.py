"""GeminiInferenceAdapter: OpenAI chat and embeddings served by Gemini's native API over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from polystack.apis.errors import (
    NotImplementedByProviderError,
    PolystackError,
    ProviderError,
)
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)
from polystack.apis.models.types import ProviderModel
from polystack.apis.providers.types import HealthStatus
from polystack.providers.remote.inference.gemini.config import GeminiConfig, GeminiProviderData
from polystack.providers.remote.inference.gemini.embeddings import batch_bodies, to_embedding_response
from polystack.providers.remote.inference.gemini.models import to_provider_model
from polystack.providers.remote.inference.gemini.request import build_generate_body, model_path
from polystack.providers.remote.inference.gemini.response import to_chat_completion
from polystack.providers.remote.inference.gemini.stream import StreamTranslator
from polystack.providers.utils.http_client import make_http_client
from polystack.providers.utils.openai_compat.errors import status_error
from polystack.providers.utils.sse import json_events
from polystack.providers.utils.upstream import caller_or_configured_key, json_body, missing_key_error, send


def gemini_status_error(provider_id: str, status: int, content: bytes) -> PolystackError:
    """Like `status_error`, but Gemini answers a bad key with 400 API_KEY_INVALID: treat that as 401."""
    if status == 400 and b"API_KEY_INVALID" in content:
        status = 401
    return status_error(provider_id, status, content)


class GeminiInferenceAdapter:
    """Chat completions (plain and streamed, with tools) and embeddings on Gemini; no legacy completions.

    The key travels in the x-goog-api-key header, never in the URL, so it cannot reach access logs.
    """

    provider_id = "gemini"
    accepts_unlisted_models = True

    def __init__(self, config: GeminiConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
        self.client = client or make_http_client(timeout=timeout)

    # ---- plumbing ------------------------------------------------------------------------------

    def _api_key(self) -> str | None:
        return caller_or_configured_key(self.config.api_key, GeminiProviderData, "gemini_api_key")

    def _headers(self) -> dict[str, str]:
        key = self._api_key()
        if not key:
            raise missing_key_error(self.provider_id, "gemini_api_key")
        return {"x-goog-api-key": key, "content-type": "application/json"}

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
                          stream=stream, on_status=gemini_status_error)

    def _json(self, response: httpx.Response) -> Any:
        return json_body(response, self.provider_id)

    def _events(self, response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
        return json_events(response, self.provider_id, self.base_url)

    # ---- the Inference API -----------------------------------------------------------------------

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        body = build_generate_body(request)
        if not request.stream:
            response = await self._send("POST", model_path(request.model, "generateContent"), body=body)
            return to_chat_completion(self._json(response), request.model)
        response = await self._send("POST", model_path(request.model, "streamGenerateContent"), body=body,
                                    params={"alt": "sse"}, stream=True)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return self._chunks(response, StreamTranslator(self.provider_id, request.model), include_usage)

    async def _chunks(self, response: httpx.Response, translator: StreamTranslator,
                      include_usage: bool) -> AsyncIterator[ChatCompletionChunk]:
        events = self._events(response)
        try:
            async for event in events:
                for chunk in translator.feed(event):
                    yield chunk
        finally:
            await events.aclose()  # closes the upstream response even when the caller stops early
        if not translator.finished:
            raise ProviderError(self.provider_id, "the stream ended before any candidate finished")
        if include_usage:
            yield translator.usage_chunk()

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[Completion]:
        raise NotImplementedByProviderError(
            f"Provider '{self.provider_id}' (Gemini) has no legacy text completions; "
            "use /v1/chat/completions")

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

    async def list_models(self) -> list[ProviderModel] | None:
        """Chat models and known embedding models for the configured key (paged); None without a key."""
        if not self.config.refresh_models or not self._api_key():
            return None
        models: list[ProviderModel] = []
        params: dict[str, Any] = {"pageSize": 1000}
        while True:
            page = self._json(await self._send("GET", "/models", params=params))
            models.extend(model for item in page.get("models") or [] if (model := to_provider_model(item)))
            if not page.get("nextPageToken"):
                return models
            params = {"pageSize": 1000, "pageToken": page["nextPageToken"]}

    async def health(self) -> HealthStatus:
        if not self._api_key():
            return HealthStatus(status="OK", message="no API key configured; callers must send their own")
        try:
            self._json(await self._send("GET", "/models", params={"pageSize": 1}))
        except Exception as exc:  # noqa: BLE001 - health reports the failure instead of raising it
            return HealthStatus(status="Error", message=str(exc))
        return HealthStatus(status="OK")

    async def shutdown(self) -> None:
        await self.client.aclose()
