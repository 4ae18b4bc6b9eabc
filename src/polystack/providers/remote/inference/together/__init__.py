"""remote::together: inference on Together AI, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.together.config import TogetherConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: TogetherConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="together_api_key")
    return adapter
