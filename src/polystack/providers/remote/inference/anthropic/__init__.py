"""remote::anthropic: chat on Anthropic's Messages API, translated to and from OpenAI's shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.anthropic.config import AnthropicConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: AnthropicConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.remote.inference.anthropic.adapter import AnthropicInferenceAdapter

    return AnthropicInferenceAdapter(config)
