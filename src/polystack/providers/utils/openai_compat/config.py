"""Config shared by OpenAI-compatible providers; each provider subclasses it with its own defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OpenAICompatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="The server's OpenAI-compatible base URL, ending in /v1.")
    api_key: SecretStr | None = Field(default=None, description="Sent as a bearer token; never logged.")
    timeout_seconds: float = Field(default=600, gt=0, description="Read timeout for one request.")
    connect_timeout_seconds: float = Field(default=10, gt=0)
    max_connections: int = Field(default=512, ge=1, description="Concurrent requests to this provider at most.")
    pool_timeout_seconds: float = Field(
        default=30, gt=0, description="How long a request waits for a free connection before a 503.")
    refresh_models: bool = Field(default=True, description="List the server's models at startup and periodically.")
    extra_headers: dict[str, str] = Field(default_factory=dict)


class OpenAICompatProviderData(BaseModel):
    """Per-request settings from X-LlamaStack-Provider-Data, e.g. {"openai_api_key": "..."}.

    Each provider reads the key named `<provider>_api_key`; unknown keys are ignored.
    """

    model_config = ConfigDict(extra="allow")
