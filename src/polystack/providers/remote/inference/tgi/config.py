"""Config of remote::tgi: Hugging Face Text Generation Inference's OpenAI route (http://host/v1)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class TgiConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"tgi_api_key": "..."}`."""

    base_url: str = Field(validation_alias=AliasChoices("base_url", "url"),
                          description="http://host/v1.")
