"""The APIs the stack serves itself: providers (with redacted configs) and inspect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polystack import __version__
from polystack.apis.datatypes import Api
from polystack.apis.errors import NotFoundError
from polystack.apis.inspect.types import Health, RouteInfo, Version
from polystack.apis.providers.types import CircuitStatus, HealthStatus, ProviderInfo
from polystack.core import secrets
from polystack.core.config import redact

if TYPE_CHECKING:
    from polystack.core.resolver import ProviderInstance
    from polystack.core.serving import Providers, ServeContext
    from polystack.core.stack import Stack


async def serve_providers(context: ServeContext, _: Providers) -> dict[str, object]:
    return {Api.providers: ProvidersImpl(context.stack)}


async def serve_inspect(context: ServeContext, _: Providers) -> dict[str, object]:
    return {Api.inspect: InspectImpl(context.stack)}


class ProvidersImpl:
    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        for instance in stack.providers.values():  # validated configs: defaults and aliases resolved
            secrets.register(instance.config)

    async def _info(self, instance: ProviderInstance) -> ProviderInfo:
        health = HealthStatus(status="Not Implemented")
        check = getattr(instance.impl, "health", None)
        if check is not None:
            try:
                health = await check()
            except Exception as exc:  # noqa: BLE001
                health = HealthStatus(status="Error", message=str(exc))
        if health.message:  # health messages quote upstream errors, which may echo a key
            health = health.model_copy(update={"message": secrets.public_message(health.message)})
        gateway = getattr(self._stack.impls.get(Api.inference), "gateway", None)
        circuits = gateway.board.of_provider(instance.provider_id) if gateway is not None else None
        if circuits:
            health = health.model_copy(update={"circuits": [CircuitStatus(**c) for c in circuits]})
        return ProviderInfo(
            api=str(instance.api),
            provider_id=instance.provider_id,
            provider_type=instance.spec.provider_type,
            config=redact(instance.config),
            health=health,
        )

    async def list_providers(self) -> list[ProviderInfo]:
        return [await self._info(instance) for instance in self._stack.providers.values()]

    async def get_provider(self, provider_id: str) -> ProviderInfo:
        instance = self._stack.providers.get(provider_id)
        if instance is None:
            raise NotFoundError(f"provider '{provider_id}' is not configured; see GET /v1/providers",
                                param="provider_id")
        return await self._info(instance)


class InspectImpl:
    """Reads the served routes from the app the stack is mounted in (set by the server)."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    async def list_routes(self) -> list[RouteInfo]:
        return [
            RouteInfo(route=path, method=method, provider_types=self._stack.provider_types_of(api))
            for path, method, api in self._stack.route_table
        ]

    async def health(self) -> Health:
        return Health(status="OK")

    async def version(self) -> Version:
        return Version(version=__version__)
