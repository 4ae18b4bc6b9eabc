"""Config of remote::openrouter: OpenRouter."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class OpenrouterConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"openrouter_api_key": "..."}`."""

    base_url: str = Field(default="https://openrouter.ai/api/v1", validation_alias=AliasChoices("base_url", "url"))
