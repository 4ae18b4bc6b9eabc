"""Config of remote::fireworks: Fireworks AI."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class FireworksConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"fireworks_api_key": "..."}`."""

    base_url: str = Field(default="https://api.fireworks.ai/inference/v1",
                          validation_alias=AliasChoices("base_url", "url"))
