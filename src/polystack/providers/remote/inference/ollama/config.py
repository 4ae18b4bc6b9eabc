"""Config of remote::ollama: an Ollama server's OpenAI-compatible /v1 routes."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class OllamaConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"ollama_api_key": "..."}`."""

    base_url: str = Field(default="http://localhost:11434/v1", validation_alias=AliasChoices("base_url", "url"))
