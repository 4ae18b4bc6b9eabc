"""The shields routing table: registered shields (config or API), each served by one safety provider."""

from __future__ import annotations

from collections.abc import Iterable

from polystack.apis.errors import InvalidRequestError, NotFoundError
from polystack.apis.safety.protocol import SafetyProvider
from polystack.apis.safety.types import RegisterShieldRequest, Shield
from polystack.core.registered_resources import ShieldInput
from polystack.core.registry import ResourceRegistry
from polystack.core.routing.resource_table import ResourceTable


class ShieldsRoutingTable(ResourceTable[Shield, SafetyProvider]):
    """Serves the Shields API: a ResourceTable of shields (owner, access checks, shared registry) whose
    registration asks the provider first, so a shield whose guard cannot serve is refused at once."""

    def __init__(self, providers: dict[str, SafetyProvider], registry: ResourceRegistry,
                 *, cache_seconds: float = 5.0) -> None:
        super().__init__(Shield, "shield", providers, registry, cache_seconds=cache_seconds)

    async def start_with(self, configured: Iterable[ShieldInput]) -> None:
        """Start the table; the run config's shields are registered like the API's (and checked)."""
        await super().start([self._shield(RegisterShieldRequest(**entry.model_dump())) for entry in configured])

    async def register(self, resource: Shield, *, replace: bool = False) -> Shield:
        provider = self.providers.get(resource.provider_id)
        if provider is not None:
            await provider.register_shield(resource)
        return await super().register(resource, replace=replace)

    def _shield(self, request: RegisterShieldRequest) -> Shield:
        provider_id = request.provider_id
        if provider_id is None:
            if len(self.providers) != 1:
                raise InvalidRequestError(
                    f"cannot tell which safety provider serves shield '{request.shield_id}'; pass provider_id "
                    f"(one of: {', '.join(sorted(self.providers)) or 'none'})", param="provider_id")
            provider_id = next(iter(self.providers))
        if provider_id not in self.providers:
            raise NotFoundError(
                f"provider '{provider_id}' is not a safety provider of this server "
                f"(have: {', '.join(sorted(self.providers)) or 'none'})", param="provider_id")
        return Shield(identifier=request.shield_id, provider_id=provider_id,
                      provider_resource_id=request.provider_shield_id or request.shield_id, params=request.params)

    # ---- the Shields API -----------------------------------------------------------------------

    async def list_shields(self) -> list[Shield]:
        return await self.list()

    async def get_shield(self, identifier: str) -> Shield:
        return await self.get_or_404(identifier)

    async def register_shield(self, request: RegisterShieldRequest) -> Shield:
        return await self.register(self._shield(request))

    async def unregister_shield(self, identifier: str) -> None:
        await self.unregister(identifier)
