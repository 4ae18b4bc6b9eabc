"""remote::together: inference on Together AI, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.together.config import TogetherConfig


async def create(config: TogetherConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="together_api_key")
    return adapter
