"""Config of remote::openai-moderation, and the key a caller may send in its provider data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OpenAIModerationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(default="https://api.openai.com/v1", description="Where /moderations is served.")
    api_key: SecretStr | None = Field(default=None, description="Else the caller's provider data "
                                      "(openai_api_key in X-LlamaStack-Provider-Data).")
    timeout_seconds: float = Field(default=30, gt=0)


class OpenAIModerationProviderData(BaseModel):
    openai_api_key: SecretStr | None = None
