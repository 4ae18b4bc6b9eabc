"""remote::openai: inference on OpenAI's API, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.openai.config import OpenaiConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: OpenaiConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="openai_api_key")
    return adapter
