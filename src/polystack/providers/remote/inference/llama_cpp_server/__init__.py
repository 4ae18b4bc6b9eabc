"""remote::llama-cpp-server on the shared OpenAI-compatible client.

Serves a llama.cpp server (llama-server or llama_cpp.server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.llama_cpp_server.config import LlamaCppServerConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: LlamaCppServerConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="llama_cpp_server_api_key")
    return adapter
