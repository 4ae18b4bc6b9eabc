"""remote::llama-cpp-server on the shared OpenAI-compatible client.

Serves a llama.cpp server (llama-server or llama_cpp.server).
"""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.llama_cpp_server.config import LlamaCppServerConfig


async def create(config: LlamaCppServerConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="llama_cpp_server_api_key")
    return adapter
