"""remote::tgi on the shared OpenAI-compatible client.

Serves Hugging Face Text Generation Inference's OpenAI route (http://host/v1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.tgi.config import TgiConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: TgiConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="tgi_api_key")
    return adapter
