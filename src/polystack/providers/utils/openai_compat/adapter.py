"""OpenAICompatAdapter: forwards OpenAI requests to an OpenAI-compatible server over httpx."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from polystack.apis.errors import ProviderError
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
from polystack.apis.providers.types import HealthStatus
from polystack.core.request_context import provider_data
from polystack.core.secrets import scrub
from polystack.providers.utils.http_client import make_http_client
from polystack.providers.utils.openai_compat.config import OpenAICompatConfig, OpenAICompatProviderData
from polystack.providers.utils.sse import event_object, raw_events
from polystack.providers.utils.upstream import json_body, send

T = TypeVar("T", bound=BaseModel)


class OpenAICompatAdapter:
    """An inference provider for any server speaking OpenAI's /v1 API.

    Subclasses (or configs) change the base URL, the auth header and the key's provider-data name.
    """

    provider_id = "openai-compatible"
    accepts_unlisted_models = True
    auth_header = "Authorization"
    auth_scheme = "Bearer "

    def __init__(
        self, config: OpenAICompatConfig, *, api_key_field: str, client: httpx.AsyncClient | None = None
    ) -> None:
        self.config = config
        self.api_key_field = api_key_field
        # credentials in the URL travel as Basic auth, and only when no key is sent: an HTTP client cannot send
        # both, so a URL with a password plus an api_key used to fail every request
        self.base_url, self._basic_auth = split_credentials(config.base_url.rstrip("/"))
        timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
        self.client = client or make_http_client(
            base_url=self.base_url, timeout=timeout, headers=config.extra_headers,
            max_connections=config.max_connections, pool_timeout=config.pool_timeout_seconds)
        self._urls: dict[str, httpx.URL] = {}  # parsed once: httpx parses a str URL on every request

    # ---- plumbing ------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        key = self.config.api_key.get_secret_value() if self.config.api_key else None
        data = provider_data(OpenAICompatProviderData)
        if data is not None and getattr(data, self.api_key_field, None):
            key = str(getattr(data, self.api_key_field))
        headers = {self.auth_header: f"{self.auth_scheme}{key}"} if key else {}
        if self._basic_auth is not None and "Authorization" not in headers:
            headers["Authorization"] = self._basic_auth
        return headers

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url

    def request_body(self, request: BaseModel) -> dict[str, Any]:
        """The JSON body sent upstream; providers with quirks override it."""
        return request.model_dump(exclude_none=True, by_alias=True)

    def _parse(self, response_type: type[T], data: Any) -> T:
        try:
            return response_type.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ProviderError(
                self.provider_id, f"answered with an invalid {response_type.__name__}: '{where}': {first['msg']}"
            ) from None

    @staticmethod
    def _parse_raw(chunk_type: type[T], raw: bytes) -> T | None:
        """A chunk validated from its bytes; None if it is not a valid one (the dict path names the problem)."""
        try:
            return chunk_type.model_validate_json(raw)
        except ValidationError:
            return None

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        request = self.client.build_request(
            "POST", self._url(path), content=orjson.dumps(body),
            headers={**self._headers(), "Content-Type": "application/json"},
        )
        response = await send(self.client, request, provider_id=self.provider_id, base_url=self.base_url)
        return json_body(response, self.provider_id)

    async def _stream(self, path: str, body: dict[str, Any], chunk_type: type[T]) -> AsyncIterator[T]:
        headers = {**self._headers(), "Content-Type": "application/json", "Accept": "text/event-stream"}
        request = self.client.build_request("POST", self._url(path), content=orjson.dumps(body), headers=headers)
        response = await send(self.client, request, provider_id=self.provider_id, base_url=self.base_url, stream=True)
        async with aclosing(raw_events(response, self.provider_id, self.base_url)) as events:
            async for raw in events:
                chunk = self._parse_raw(chunk_type, raw) if b'"error"' not in raw else None
                if chunk is not None:  # the common case: validated straight from the bytes
                    yield chunk
                    continue
                data = event_object(raw, self.provider_id)
                if "error" in data and "choices" not in data:
                    error = data["error"]
                    message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
                    raise ProviderError(self.provider_id, scrub(message))  # an upstream may echo the key
                yield self._parse(chunk_type, data)

    # ---- the Inference API -----------------------------------------------------------------------

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        body = self.request_body(request)
        if request.stream:
            return self._stream("/chat/completions", body, ChatCompletionChunk)
        return self._parse(ChatCompletion, await self._post("/chat/completions", body))

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[CompletionChunk]:
        body = self.request_body(request)
        if request.stream:
            return self._stream("/completions", body, CompletionChunk)
        return self._parse(Completion, await self._post("/completions", body))

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        return self._parse(CreateEmbeddingResponse, await self._post("/embeddings", self.request_body(request)))

    async def list_models(self) -> list[ProviderModel] | None:
        if not self.config.refresh_models:
            return None
        request = self.client.build_request("GET", "/models", headers=self._headers())
        response = await send(self.client, request, provider_id=self.provider_id, base_url=self.base_url)
        return [
            ProviderModel(provider_resource_id=item["id"]) for item in json_body(response, self.provider_id)["data"]
        ]

    async def health(self) -> HealthStatus:
        try:
            await self.list_models()
        except Exception as exc:  # noqa: BLE001
            return HealthStatus(status="Error", message=str(exc))
        return HealthStatus(status="OK")

    async def shutdown(self) -> None:
        await self.client.aclose()


def split_credentials(url: str) -> tuple[str, str | None]:
    """`url` without its user:password part, and that part as a Basic Authorization value (None if absent)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.netloc.rpartition("@")[2]
    credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
    return urlunsplit(parts._replace(netloc=netloc)), "Basic " + base64.b64encode(credentials).decode()
