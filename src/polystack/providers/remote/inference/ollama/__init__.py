"""remote::ollama on the shared OpenAI-compatible client.

Serves an Ollama server's OpenAI-compatible /v1 routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.ollama.config import OllamaConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: OllamaConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="ollama_api_key")
    return adapter
