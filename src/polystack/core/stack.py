"""Stack: everything a run config describes, built, started and stopped in dependency order."""

from __future__ import annotations

import logging
from itertools import groupby
from typing import Any

from polystack.apis.datatypes import Api
from polystack.core.builtin import InspectImpl, ProvidersImpl
from polystack.core.config import RunConfig
from polystack.core.errors import StackError
from polystack.core.registry import KVStore, MemoryKVStore, ResourceRegistry
from polystack.core.resolver import ProviderInstance, instantiate, plan
from polystack.core.routing.inference import InferenceRouter
from polystack.core.routing.models import ModelsRoutingTable
from polystack.providers.registry import all_specs

logger = logging.getLogger("polystack.core")


class Stack:
    """The providers, routing tables and routers of one run config."""

    def __init__(self, config: RunConfig, *, metadata_store: KVStore | None = None) -> None:
        self.config = config
        self.registry = ResourceRegistry(metadata_store or MemoryKVStore())
        self.providers: dict[str, ProviderInstance] = {}
        self.impls: dict[Api, Any] = {}
        self.route_table: list[tuple[str, str, Api]] = []  # (path, method, api), set by the server app
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        planned = plan(self.config, all_specs())
        try:
            for api, group in groupby(planned, key=lambda p: p.api):
                for provider in group:
                    logger.info("starting provider %s (%s)", provider.provider_id, provider.spec.provider_type)
                    try:
                        instance = await instantiate(provider, self.impls)
                    except StackError:
                        raise
                    except Exception as exc:
                        raise StackError(
                            f"provider '{provider.provider_id}' ({provider.spec.provider_type}) failed to start: {exc}"
                        ) from exc
                    self.providers[provider.provider_id] = instance
                await self._serve(api)
        except BaseException:
            await self.stop()
            raise
        self.impls[Api.providers] = ProvidersImpl(self)
        self.impls[Api.inspect] = InspectImpl(self)
        self._started = True

    async def _serve(self, api: Api) -> None:
        """Put the router (or the single provider) of `api` into `impls`."""
        instances = {pid: inst.impl for pid, inst in self.providers.items() if inst.api == api}
        if api == Api.inference:
            table = ModelsRoutingTable(instances, self.registry)
            await table.start(self.config.registered_resources.models, self.config.models.refresh_interval_seconds)
            self.impls[Api.models] = table
            self.impls[Api.inference] = InferenceRouter(table)
        elif len(instances) == 1:
            self.impls[api] = next(iter(instances.values()))
        else:
            raise StackError(f"API '{api.value}' takes exactly one provider; {len(instances)} are configured")

    def provider_types_of(self, api: Api) -> list[str]:
        source = Api.inference if api == Api.models else api
        return sorted({inst.spec.provider_type for inst in self.providers.values() if inst.api == source})

    async def stop(self) -> None:
        """Stop routing tables, then providers in reverse start order; failures are logged, not raised."""
        table = self.impls.get(Api.models)
        if table is not None:
            await table.stop()
        for instance in reversed(list(self.providers.values())):
            shutdown = getattr(instance.impl, "shutdown", None)
            if shutdown is None:
                continue
            try:
                await shutdown()
            except Exception:  # noqa: BLE001
                logger.exception("provider %s failed to shut down", instance.provider_id)
        self.providers.clear()
        self.impls.clear()
        self._started = False
