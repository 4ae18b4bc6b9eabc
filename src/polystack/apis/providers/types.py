"""Provider descriptions as served by GET /v1/providers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class CircuitStatus(BaseModel):
    """One deployment's circuit as the inference router sees it (routed models only)."""

    deployment: str = Field(description="provider_id/provider_model_id")
    state: Literal["closed", "open", "half_open"]
    cooldown_remaining_seconds: float | None = None
    inflight: int
    latency_seconds: float | None = Field(default=None, description="Moving average to the answer or first chunk.")
    successes: int
    faults: dict[str, int] = Field(description="Failed calls by fault class (timeout, rate_limit, server, ...).")
    times_opened: int


class HealthStatus(BaseModel):
    status: Literal["OK", "Error", "Not Implemented"]
    message: str | None = None
    circuits: list[CircuitStatus] | None = Field(
        default=None, description="Inference providers that served routed models: each deployment's circuit.")


class ProviderInfo(BaseModel):
    api: str
    provider_id: str
    provider_type: str
    config: dict[str, Any] = Field(description="The provider's config with every secret redacted.")
    health: HealthStatus


class ProviderList(BaseModel):
    data: list[ProviderInfo]
