"""Config of remote::openai: OpenAI's API."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class OpenaiConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"openai_api_key": "..."}`."""

    base_url: str = Field(default="https://api.openai.com/v1", validation_alias=AliasChoices("base_url", "url"))
