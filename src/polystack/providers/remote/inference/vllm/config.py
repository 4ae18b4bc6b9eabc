"""Config of remote::vllm: a vLLM server."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class VllmConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"vllm_api_token": "..."}`."""

    base_url: str = Field(validation_alias=AliasChoices("base_url", "url"),
                          description="The server URL ending in /v1.")
