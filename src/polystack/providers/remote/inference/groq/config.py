"""Config of remote::groq: Groq."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class GroqConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"groq_api_key": "..."}`."""

    base_url: str = Field(default="https://api.groq.com/openai/v1", validation_alias=AliasChoices("base_url", "url"))
