"""Config of remote::nvidia: NVIDIA NIM / build.nvidia.com."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from polystack.providers.utils.openai_compat.config import OpenAICompatConfig


class NvidiaConfig(OpenAICompatConfig):
    """Per-request key override: provider data `{"nvidia_api_key": "..."}`."""

    base_url: str = Field(default="https://integrate.api.nvidia.com/v1",
                          validation_alias=AliasChoices("base_url", "url"))
