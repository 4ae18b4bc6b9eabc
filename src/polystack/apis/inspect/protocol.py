"""The inspect contract (served by the stack itself)."""

from __future__ import annotations

from typing import Protocol

from polystack.apis.inspect.types import Health, RouteInfo, Version


class Inspect(Protocol):
    async def list_routes(self) -> list[RouteInfo]:
        """Every served route with the provider types behind it."""
        ...

    async def health(self) -> Health:
        ...

    async def version(self) -> Version:
        ...
