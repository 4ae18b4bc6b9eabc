"""remote::openrouter: inference on OpenRouter, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.openrouter.config import OpenrouterConfig


async def create(config: OpenrouterConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="openrouter_api_key")
    return adapter
