"""Config of remote::anthropic: Anthropic's Messages API."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr


class AnthropicConfig(BaseModel):
    """Where and how to reach the Messages API.

    Sample: `{"api_key": "${env.ANTHROPIC_API_KEY:=}"}`. Per-request key override: provider data
    `{"anthropic_api_key": "..."}`.
    """

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = Field(default=None, description="Sent as the x-api-key header; never logged.")
    base_url: str = Field(default="https://api.anthropic.com",
                          validation_alias=AliasChoices("base_url", "url"),
                          description="The API root, without /v1.")
    anthropic_version: str = Field(default="2023-06-01", description="The anthropic-version header.")
    default_max_tokens: int = Field(
        default=4096, ge=1, description="max_tokens for requests that set none (Anthropic requires one).")
    timeout_seconds: float = Field(default=600, gt=0, description="Read timeout for one request.")
    connect_timeout_seconds: float = Field(default=10, gt=0)
    refresh_models: bool = Field(default=True,
                                 description="List the account's models at startup and periodically.")


class AnthropicProviderData(BaseModel):
    """Per-request settings from X-LlamaStack-Provider-Data; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    anthropic_api_key: SecretStr | None = None
