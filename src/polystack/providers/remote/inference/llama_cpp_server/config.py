"""Config of remote::llama-cpp-server: a llama.cpp server (llama-server or llama_cpp.server)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class LlamaCppServerConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"llama_cpp_server_api_key": "..."}`."""

    base_url: str = Field(default="http://localhost:8080/v1", validation_alias=AliasChoices("base_url", "url"))
