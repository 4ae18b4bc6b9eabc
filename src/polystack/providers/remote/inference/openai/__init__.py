"""remote::openai: inference on OpenAI's API, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.openai.config import OpenaiConfig


async def create(config: OpenaiConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="openai_api_key")
    return adapter
