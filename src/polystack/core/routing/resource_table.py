"""ResourceTable: the resources of one type (models, shields, tool groups, ...) over the durable registry.

Every routing table keeps its resources the same way, so each one only adds what is special about its
kind (the models table adds provider listings, aliases and short names):

- `register` checks the provider, records the caller as `owner` and writes through to the registry
  (a KV store shared by every replica); `unregister` removes it there too; `list` and `get` read a
  per-replica cache;
- a `get` that misses the cache asks the registry at once, so a resource another replica registered a
  moment ago is found; the whole cache is reloaded from the registry every `cache_seconds` (default 5;
  0 turns the reload off), which is how long a replica may still list a resource unregistered elsewhere,
  or miss one registered elsewhere in `list`;
- resources from the run config's `registered_resources` go through the same `register` at start (replacing
  what the registry held under their identifiers), so they obey the same rules as those from the API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from typing_extensions import TypeVar as DefaultedTypeVar

from polystack.apis.datatypes import Resource
from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError
from polystack.core.access.resources import Action
from polystack.core.registry import ResourceRegistry, authorize, can, can_read, readable
from polystack.core.request_context import current_user

logger = logging.getLogger("polystack.registry")

R = TypeVar("R", bound=Resource)
Impl = DefaultedTypeVar("Impl", default=object)  # what serves the resources, e.g. an InferenceProvider


class ResourceTable(Generic[R, Impl]):
    """Resources of `resource_class` (its `type` field names them in the registry), served by `providers`."""

    def __init__(self, resource_class: type[R], resource_type: str, providers: dict[str, Impl],
                 registry: ResourceRegistry, *, cache_seconds: float = 5.0) -> None:
        self.resource_class = resource_class
        self.resource_type = resource_type
        self.providers = providers  # provider_id -> provider impl
        self.cache_seconds = cache_seconds
        self._registry = registry
        self._cache: dict[str, R] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self, configured: Iterable[R] = ()) -> None:
        """Load the registry, register the run config's resources, and keep the cache fresh."""
        await self.reload()
        for resource in configured:
            await self.register(resource, replace=True)
        if self.cache_seconds > 0:
            self.every(self.cache_seconds, self.reload)

    def every(self, interval: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` every `interval` seconds until `stop`; a failing round is logged and retried."""
        self._tasks.append(asyncio.create_task(_every(interval, job)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    async def reload(self) -> None:
        """Take in what other replicas registered or removed in the shared registry."""
        stored = {r.identifier: r for r in await self._registry.all(self.resource_class, self.resource_type)}
        for identifier, resource in list(self._cache.items()):
            if self.kept_in_registry(resource) and identifier not in stored:
                del self._cache[identifier]
        for identifier, resource in stored.items():
            if self.kept_in_registry(resource) or identifier not in self._cache:
                self._cache[identifier] = resource

    def kept_in_registry(self, resource: R) -> bool:
        """Whether the registry is the truth for `resource` (a model a provider lists is not)."""
        return True

    # ---- reads ---------------------------------------------------------------------------------

    async def list(self) -> list[R]:
        """The resources the caller may read."""
        return sorted(readable(self._cache.values()), key=lambda r: r.identifier)

    async def get(self, identifier: str) -> R | None:
        """The resource if the caller may read it; another caller's is as if it did not exist."""
        resource = await self.lookup(identifier)
        return resource if resource is not None and can_read(resource) else None

    async def lookup(self, identifier: str) -> R | None:
        """The resource from the cache, else from the registry (registered by another replica); no access check."""
        resource = self._cache.get(identifier)
        if resource is None:
            resource = await self._registry.get(self.resource_class, self.resource_type, identifier)
            if resource is not None:
                self._cache[identifier] = resource
        return resource

    async def get_or_404(self, identifier: str) -> R:
        resource = await self.get(identifier)
        if resource is None:
            raise NotFoundError(f"{self.resource_type} '{identifier}' not found", param=f"{self.resource_type}_id")
        return resource

    # ---- writes --------------------------------------------------------------------------------

    async def register(self, resource: R, *, replace: bool = False) -> R:
        """Store `resource` for its provider, owned by the caller; another resource under its identifier
        is a conflict unless `replace` (the run config's resources replace what they name)."""
        if resource.provider_id not in self.providers:
            raise NotFoundError(
                f"provider '{resource.provider_id}' does not serve {self.resource_type}s on this server "
                f"(have: {', '.join(sorted(self.providers)) or 'none'})", param="provider_id")
        existing = await self.lookup(resource.identifier)
        if existing is not None and not replace and not can(Action.UPDATE, existing):
            raise ConflictError(f"{self.resource_type}_id '{resource.identifier}' is taken; register under another "
                                f"{self.resource_type}_id", param=f"{self.resource_type}_id")  # never whose, nor what
        if existing is not None and not replace:
            same = (existing.provider_id, existing.provider_resource_id) == (
                resource.provider_id, resource.provider_resource_id)
            if not same:
                raise ConflictError(
                    f"{self.resource_type} '{resource.identifier}' is already registered for "
                    f"{existing.provider_id}/{existing.provider_resource_id}; unregister it first",
                    param=f"{self.resource_type}_id")
        resource = resource.model_copy(update={"owner": current_user.get()})
        authorize(Action.CREATE, resource)
        await self.store(resource)
        return resource

    async def store(self, resource: R) -> None:
        """Write `resource` to the cache and the registry as it is (no checks)."""
        self._cache[resource.identifier] = resource
        await self._registry.put(resource)

    async def unregister(self, identifier: str) -> R:
        """Remove by exact identifier, here and in the registry; the removed resource is returned."""
        resource = await self.get_or_404(identifier)
        authorize(Action.DELETE, resource)
        if not self.kept_in_registry(resource):
            raise InvalidRequestError(
                f"{self.resource_type} '{identifier}' comes from provider '{resource.provider_id}' and cannot be "
                "unregistered", param=f"{self.resource_type}_id")
        await self.forget(identifier)
        return resource

    async def forget(self, identifier: str) -> None:
        """Drop `identifier` from the cache and the registry (no checks)."""
        self._cache.pop(identifier, None)
        await self._registry.delete(self.resource_type, identifier)


async def _every(interval: float, job: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except Exception as exc:  # noqa: BLE001 - keep refreshing; the next round may work
            logger.warning("background refresh failed: %s", exc)
