"""The models contract: list, get, register and unregister served models."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from polystack.apis.models.types import Model, RegisterModelRequest


@runtime_checkable
class Models(Protocol):
    async def list_models(self) -> list[Model]:
        """Every model the caller may use, across providers."""
        ...

    async def get_model(self, model_id: str) -> Model:
        """One model by identifier or alias; ModelNotFoundError when unknown."""
        ...

    async def register_model(self, request: RegisterModelRequest) -> Model:
        """Register a provider model or an alias for one; it survives restarts when storage does."""
        ...

    async def unregister_model(self, model_id: str) -> None:
        """Remove a registered model or alias."""
        ...
