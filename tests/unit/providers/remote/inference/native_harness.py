"""The native adapters under test, each set up against its cassettes, and the helpers their tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from native_backend import CassetteBackend, load_cassette

from polystack.apis.inference.types import ChatCompletionRequest
from polystack.core.request_context import reset_provider_data, set_provider_data
from polystack.providers.remote.inference.anthropic.adapter import AnthropicInferenceAdapter
from polystack.providers.remote.inference.anthropic.config import AnthropicConfig
from polystack.providers.remote.inference.gemini.adapter import GeminiInferenceAdapter
from polystack.providers.remote.inference.gemini.config import GeminiConfig
from polystack.providers.utils.native_api.adapter import NativeAPIAdapter
from polystack.providers.utils.native_api.config import NativeAPIConfig

Adapter = TypeVar("Adapter", bound=NativeAPIAdapter[Any])


@dataclass(frozen=True)
class NativeAdapterCase(Generic[Adapter]):
    """One native adapter with a configured key, renamed so that tests see the name errors carry."""

    cassettes: str  # the folder under cassettes/
    adapter_class: Callable[..., Adapter]
    config_class: Callable[..., NativeAPIConfig]
    key: str
    key_header: str  # the header the key travels in
    provider_id: str

    def adapter(self, client: httpx.AsyncClient) -> Adapter:
        adapter = self.adapter_class(self.config_class(api_key=self.key), client=client)
        adapter.provider_id = self.provider_id
        return adapter

    def cassette(self, name: str) -> dict[str, Any]:
        return load_cassette(self.cassettes, name)

    def replay(self, name: str) -> tuple[CassetteBackend, Adapter, dict[str, Any] | None]:
        """The cassette's fake backend, an adapter talking to it, and the OpenAI request the cassette holds."""
        cassette = self.cassette(name)
        backend = CassetteBackend(cassette)
        return backend, self.adapter(backend.client()), cassette.get("openai_request")


ANTHROPIC = NativeAdapterCase("anthropic", AnthropicInferenceAdapter, AnthropicConfig, key="sk-ant-config-key",
                              key_header="x-api-key", provider_id="claude")
GEMINI = NativeAdapterCase("gemini", GeminiInferenceAdapter, GeminiConfig, key="AIza-config-key",
                           key_header="x-goog-api-key", provider_id="gem")


def chat(request: dict[str, Any] | None, **update: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({**(request or {}), **update})


async def collect(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


@contextmanager
def caller_provider_data(data: dict[str, Any]) -> Iterator[None]:
    """Runs the block as if the caller had sent `data` in its X-LlamaStack-Provider-Data header."""
    token = set_provider_data(data)
    try:
        yield
    finally:
        reset_provider_data(token)
