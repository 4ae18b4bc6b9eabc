"""remote::watsonx on the shared OpenAI-compatible client.

Serves IBM watsonx.ai's OpenAI-compatible model gateway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.watsonx.config import WatsonxConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: WatsonxConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="watsonx_api_key")
    return adapter
