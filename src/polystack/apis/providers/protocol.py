"""The providers contract (served by the stack itself)."""

from __future__ import annotations

from typing import Protocol

from polystack.apis.providers.types import ProviderInfo


class Providers(Protocol):
    async def list_providers(self) -> list[ProviderInfo]:
        """Every running provider with its redacted config and health."""
        ...

    async def get_provider(self, provider_id: str) -> ProviderInfo:
        """One provider; NotFoundError when unknown."""
        ...
