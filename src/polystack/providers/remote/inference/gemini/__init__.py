"""remote::gemini: chat and embeddings on Google's Gemini API, translated to and from OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.gemini.config import GeminiConfig


async def create(config: GeminiConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.remote.inference.gemini.adapter import GeminiInferenceAdapter

    return GeminiInferenceAdapter(config)
