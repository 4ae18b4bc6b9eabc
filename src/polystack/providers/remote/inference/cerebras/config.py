"""Config of remote::cerebras: Cerebras."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class CerebrasConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"cerebras_api_key": "..."}`."""

    base_url: str = Field(default="https://api.cerebras.ai/v1", validation_alias=AliasChoices("base_url", "url"))
