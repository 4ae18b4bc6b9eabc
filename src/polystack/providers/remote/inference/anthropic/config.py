"""Config of remote::anthropic: Anthropic's Messages API."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from polystack.providers.utils.native_api.config import NativeAPIConfig, NativeProviderData


class AnthropicConfig(NativeAPIConfig):
    """Where and how to reach the Messages API.

    Sample: `{"api_key": "${env.ANTHROPIC_API_KEY:=}"}`. Per-request key override: provider data
    `{"anthropic_api_key": "..."}`.
    """

    api_key: SecretStr | None = Field(default=None, description="Sent as the x-api-key header; never logged.")
    base_url: str = Field(default="https://api.anthropic.com",
                          validation_alias=AliasChoices("base_url", "url"),
                          description="The API root, without /v1.")
    anthropic_version: str = Field(default="2023-06-01", description="The anthropic-version header.")
    default_max_tokens: int = Field(
        default=4096, ge=1, description="max_tokens for requests that set none (Anthropic requires one).")


class AnthropicProviderData(NativeProviderData):
    """A caller's own Anthropic key, sent per request."""

    anthropic_api_key: SecretStr | None = None
