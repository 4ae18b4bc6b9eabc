"""remote::anthropic: chat on Anthropic's Messages API, translated to and from OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.anthropic.config import AnthropicConfig


async def create(config: AnthropicConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.remote.inference.anthropic.adapter import AnthropicInferenceAdapter

    return AnthropicInferenceAdapter(config)
