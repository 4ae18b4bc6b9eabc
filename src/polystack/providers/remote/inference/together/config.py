"""Config of remote::together: Together AI."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class TogetherConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"together_api_key": "..."}`."""

    base_url: str = Field(default="https://api.together.xyz/v1", validation_alias=AliasChoices("base_url", "url"))
