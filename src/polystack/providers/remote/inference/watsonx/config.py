"""Config of remote::watsonx: IBM watsonx.ai's OpenAI-compatible model gateway."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class WatsonxConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"watsonx_api_key": "..."}`."""

    base_url: str = Field(default="https://us-south.ml.cloud.ibm.com/ml/gateway/v1",
                          validation_alias=AliasChoices("base_url", "url"))
