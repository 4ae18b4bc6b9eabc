"""Config of remote::azure: Azure OpenAI's v1 API (https://<resource>.openai.azure.com/openai/v1)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class AzureConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"azure_api_key": "..."}`."""

    base_url: str = Field(validation_alias=AliasChoices("base_url", "url"),
                          description="https://<resource>.openai.azure.com/openai/v1.")
