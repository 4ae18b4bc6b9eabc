"""Config of remote::sambanova: SambaNova Cloud."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class SambanovaConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"sambanova_api_key": "..."}`."""

    base_url: str = Field(default="https://api.sambanova.ai/v1", validation_alias=AliasChoices("base_url", "url"))
