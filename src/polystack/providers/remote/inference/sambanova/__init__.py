"""remote::sambanova: inference on SambaNova Cloud, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.sambanova.config import SambanovaConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: SambanovaConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="sambanova_api_key")
    return adapter
