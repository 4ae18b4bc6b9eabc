"""Config of remote::nvidia-nemo-guardrails (Llama Stack's remote::nvidia safety fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class NeMoGuardrailsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guardrails_service_url: str = Field(default="http://localhost:7331", description="The Guardrails server.")
    config_id: str = Field(default="self-check", description="Guardrails configuration id (a shield's "
                           "params.config_id overrides it).")
    api_key: SecretStr | None = Field(default=None, description="Sent as a Bearer token when set.")
    temperature: float = Field(default=1.0, gt=0, le=2)
    max_tokens: int = Field(default=160, ge=1)
    timeout_seconds: float = Field(default=30, gt=0)
