"""Config fields every native adapter reads; each provider's config subclasses these with its own defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class NativeAPIConfig(BaseModel):
    """How to reach a vendor's API. Subclasses give `base_url` its default and say where `api_key` travels."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None
    base_url: str
    timeout_seconds: float = Field(default=600, gt=0, description="Read timeout for one request.")
    connect_timeout_seconds: float = Field(default=10, gt=0)
    max_connections: int = Field(default=512, ge=1, description="Concurrent requests to this provider at most.")
    pool_timeout_seconds: float = Field(
        default=30, gt=0, description="How long a request waits for a free connection before a 503.")
    refresh_models: bool = Field(default=True, description="List the key's models at startup and periodically.")


class NativeProviderData(BaseModel):
    """Per-request settings from X-LlamaStack-Provider-Data; unknown keys are ignored.

    Subclasses add the one field holding the caller's own key.
    """

    model_config = ConfigDict(extra="ignore")
