"""remote::gemini: chat and embeddings on Google's Gemini API, translated to and from OpenAI's shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.gemini.config import GeminiConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: GeminiConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.remote.inference.gemini.adapter import GeminiInferenceAdapter

    return GeminiInferenceAdapter(config)
