"""remote::cerebras: inference on Cerebras, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.cerebras.config import CerebrasConfig


async def create(config: CerebrasConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="cerebras_api_key")
    return adapter
