"""Provider descriptions as served by GET /v1/providers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class HealthStatus(BaseModel):
    status: Literal["OK", "Error", "Not Implemented"]
    message: str | None = None


class ProviderInfo(BaseModel):
    api: str
    provider_id: str
    provider_type: str
    config: dict[str, Any] = Field(description="The provider's config with every secret redacted.")
    health: HealthStatus


class ProviderList(BaseModel):
    data: list[ProviderInfo]
