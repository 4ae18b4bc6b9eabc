"""remote::fireworks: inference on Fireworks AI, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.fireworks.config import FireworksConfig


async def create(config: FireworksConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="fireworks_api_key")
    return adapter
