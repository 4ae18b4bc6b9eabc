"""Config of remote::bedrock-guardrails."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class BedrockGuardrailsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]+$")
    aws_access_key_id: str = Field(min_length=1)
    aws_secret_access_key: SecretStr
    aws_session_token: SecretStr | None = Field(default=None, description="For temporary credentials.")
    endpoint_url: str | None = Field(default=None, description="Default: https://bedrock-runtime.<region>"
                                     ".amazonaws.com")
    timeout_seconds: float = Field(default=30, gt=0)
