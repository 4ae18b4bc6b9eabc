"""NativeAPIAdapter: the HTTP plumbing of adapters that translate OpenAI requests to a vendor's own API.

Such adapters differ in their wire format, their URLs and how the key travels; sending requests, reading
JSON and event streams, paging the model listing and reporting health are the same, so they live here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any, Generic, Protocol, TypeVar

import httpx
import orjson

from polystack.apis.errors import NotImplementedByProviderError, PolystackError, ProviderError
from polystack.apis.inference.types import ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest
from polystack.apis.models.types import ProviderModel
from polystack.apis.providers.types import HealthStatus
from polystack.core.secrets import scrub_error
from polystack.providers.utils.http_client import make_http_client
from polystack.providers.utils.native_api.config import NativeAPIConfig, NativeProviderData
from polystack.providers.utils.openai_compat.errors import status_error
from polystack.providers.utils.sse import json_events
from polystack.providers.utils.upstream import caller_or_configured_key, json_body, missing_key_error, send

C = TypeVar("C", bound=NativeAPIConfig)

PAGE_SIZE = 1000  # models asked for per page of the listing


class ChunkTranslator(Protocol):
    """Turns a vendor's stream events, one at a time, into OpenAI chunks."""

    finished: bool  # a finish reason arrived: a stream that ends before that is an error

    def feed(self, event: dict[str, Any]) -> list[ChatCompletionChunk]: ...

    def usage_chunk(self) -> ChatCompletionChunk: ...


class NativeAPIAdapter(ABC, Generic[C]):
    """Chat (and whatever else a subclass adds) on a vendor's own API; no legacy completions.

    A subclass names itself (`provider_id`, `vendor`), says where a caller's own key comes from
    (`provider_data`, `key_field`) and how it is sent (`auth_headers`), and how the model listing pages.
    """

    provider_id: str
    vendor: str  # the vendor's name, in error messages
    provider_data: type[NativeProviderData]
    key_field: str  # the provider-data field holding a caller's own key
    models_path: str  # GET lists the models, a page at a time
    page_size_param: str  # the query parameter saying how many models a page holds
    unfinished_stream: str  # the error when a stream ends before its finish reason
    accepts_unlisted_models = True

    def __init__(self, config: C, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
        self.client = client or make_http_client(
            timeout=timeout, max_connections=config.max_connections, pool_timeout=config.pool_timeout_seconds)

    # ---- what each vendor does its own way ------------------------------------------------------

    @abstractmethod
    def auth_headers(self, key: str) -> dict[str, str]:
        """The headers carrying the key (and any the vendor requires on every request)."""

    @abstractmethod
    def next_page(self, page: dict[str, Any]) -> dict[str, Any] | None:
        """The query, besides the page size, asking for the page after `page`; None after the last page."""

    @abstractmethod
    def page_models(self, page: dict[str, Any]) -> Iterable[ProviderModel]:
        """The models listed on one page that this adapter can serve."""

    def ends_stream(self, event: dict[str, Any]) -> bool:
        """Whether `event` is the last one of the stream, for vendors that say so before the stream closes."""
        return False

    def error_for_status(self, provider_id: str, status: int, content: bytes) -> PolystackError:
        """The error for an upstream error status; vendors whose statuses say something else override it."""
        return status_error(provider_id, status, content)

    # ---- plumbing ------------------------------------------------------------------------------

    def _api_key(self) -> str | None:
        return caller_or_configured_key(self.config.api_key, self.provider_data, self.key_field)

    def _headers(self) -> dict[str, str]:
        key = self._api_key()
        if not key:
            raise missing_key_error(self.provider_id, self.key_field)
        return {**self.auth_headers(key), "content-type": "application/json"}

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
                          stream=stream, on_status=self.error_for_status)

    def _json(self, response: httpx.Response) -> Any:
        return json_body(response, self.provider_id)

    async def _chunks(self, response: httpx.Response, translator: ChunkTranslator,
                      request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        """The translated chunks of a streamed response, then the usage chunk if the caller asked for it."""
        async with aclosing(json_events(response, self.provider_id, self.base_url)) as events:
            async for event in events:  # closed on leaving, even when the caller stops early
                try:
                    chunks = translator.feed(event)
                except PolystackError as exc:  # a vendor's error event may echo the key
                    raise scrub_error(exc) from None
                for chunk in chunks:
                    yield chunk
                if self.ends_stream(event):
                    break
        if not translator.finished:
            raise ProviderError(self.provider_id, self.unfinished_stream)
        if request.stream_options and request.stream_options.include_usage:
            yield translator.usage_chunk()

    # ---- the Inference API -----------------------------------------------------------------------

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[Completion]:
        raise NotImplementedByProviderError(
            f"Provider '{self.provider_id}' ({self.vendor}) has no legacy text completions; "
            "use /v1/chat/completions")

    async def list_models(self) -> list[ProviderModel] | None:
        """Every model on every page of the listing for the configured key; None without a configured key."""
        if not self.config.refresh_models or not self._api_key():
            return None
        models: list[ProviderModel] = []
        query: dict[str, Any] | None = {}
        while query is not None:
            page = self._json(await self._send("GET", self.models_path,
                                               params={self.page_size_param: PAGE_SIZE, **query}))
            models.extend(self.page_models(page))
            query = self.next_page(page)
        return models

    async def health(self) -> HealthStatus:
        if not self._api_key():
            return HealthStatus(status="OK", message="no API key configured; callers must send their own")
        try:
            self._json(await self._send("GET", self.models_path, params={self.page_size_param: 1}))
        except Exception as exc:  # noqa: BLE001 - health reports the failure instead of raising it
            return HealthStatus(status="Error", message=str(exc))
        return HealthStatus(status="OK")

    async def shutdown(self) -> None:
        await self.client.aclose()
