"""Config of remote::gemini: Google's Gemini API (generativelanguage.googleapis.com)."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr


class GeminiConfig(BaseModel):
    """Where and how to reach the Gemini API.

    Sample: `{"api_key": "${env.GEMINI_API_KEY:=}"}`. Per-request key override: provider data
    `{"gemini_api_key": "..."}`.
    """

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = Field(
        default=None, description="Sent as the x-goog-api-key header (never in the URL); never logged.")
    base_url: str = Field(default="https://generativelanguage.googleapis.com/v1beta",
                          validation_alias=AliasChoices("base_url", "url"),
                          description="The API root including its version, e.g. .../v1beta.")
    timeout_seconds: float = Field(default=600, gt=0, description="Read timeout for one request.")
    connect_timeout_seconds: float = Field(default=10, gt=0)
    refresh_models: bool = Field(default=True,
                                 description="List the key's models at startup and periodically.")


class GeminiProviderData(BaseModel):
    """Per-request settings from X-LlamaStack-Provider-Data; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    gemini_api_key: SecretStr | None = None
