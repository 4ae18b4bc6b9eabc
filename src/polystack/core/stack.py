"""Stack: everything a run config describes, built, started and stopped in dependency order.

The stack knows no API by name: for each API (in the resolver's dependency order) it starts the
providers, then asks the API's spec (apis/catalog.py) how to serve it (core/serving/__init__.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from graphlib import TopologicalSorter
from itertools import groupby

from polystack.apis.catalog import CATALOG, serving_api
from polystack.apis.datatypes import Api
from polystack.apis.errors import PolystackError
from polystack.core import secrets
from polystack.core.config import RunConfig
from polystack.core.errors import StackError
from polystack.core.impls import Impls
from polystack.core.jobs.runner import JobRunner
from polystack.core.registry import ResourceRegistry
from polystack.core.resolver import PlannedProvider, ProviderInstance, instantiate, plan
from polystack.core.routing.hooks import load_hook
from polystack.core.routing.inference import InferenceRouter
from polystack.core.serving import Serve, ServeContext, single_provider
from polystack.core.storage.backends import Storage
from polystack.core.telemetry.metrics import Metrics
from polystack.providers.registry import all_specs
from polystack.providers.spec import import_dotted

logger = logging.getLogger("polystack.core")

# After-ready loads wait this long, so the health probes and first requests that follow "ready" go first
# (a load holds the GIL for much of its import); a request that needs the load sooner starts it itself.
AFTER_READY_DELAY_SECONDS = 1.0


class Stack:
    """The providers, routing tables and routers of one run config."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        secrets.register(config)  # before anything starts: startup logs and errors are masked too
        self.storage = Storage(config.storage)
        self.registry: ResourceRegistry | None = None
        self.providers: dict[str, ProviderInstance] = {}
        self.impls = Impls()
        self.route_table: list[tuple[str, str, str]] = []  # (path, method, api), set by the server app
        self.metrics = Metrics() if config.telemetry.metrics.enabled else None  # scraped at /metrics
        self._context: ServeContext | None = None
        self._started = False
        self._after_ready: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._started:
            return
        planned = plan(self.config, all_specs())
        try:
            stores = self.config.storage.stores
            self.registry = ResourceRegistry(await self.storage.kv(stores.metadata, "registry"))
            self._context = ServeContext(self.config, self.storage, self.registry, self.impls, stack=self)
            providerless = self._providerless_apis()
            for api in providerless:  # those needing no other API first: any router may read them
                if not CATALOG[api].needs:
                    await self._serve(api)
            for api, group in groupby(planned, key=lambda p: p.api):
                for provider in group:
                    self.providers[provider.provider_id] = await self._start_provider(provider)
                await self._serve(api)
            for api in self.config.served_apis():  # listed in `apis` without a provider: its router serves none yet
                spec = CATALOG.get(api)
                if api not in self.impls and spec is not None and spec.takes_providers and spec.serve is not None:
                    await self._serve(api)
            for api in providerless:
                if CATALOG[api].needs:
                    await self._serve(api)
            await self._load_inference_hooks()
            if self.metrics is not None:  # pushed by OTLP too when the OTEL_* variables say so
                from polystack.core.telemetry.setup import start_metrics_export

                start_metrics_export(self.metrics, self.config.telemetry, self._context)
            for instance in self.providers.values():  # embedded models: their first run is slow, so before ready
                warm_up = getattr(instance.impl, "warm_up", None)
                if warm_up is not None:
                    await warm_up()
            for spec in CATALOG.values():
                if spec.always:
                    await self._serve(spec.api)
            if self._context.jobs is not None:  # once every API has registered its job kinds
                await self._context.jobs.start()
        except PolystackError as exc:  # e.g. a storage backend that cannot be reached
            await self.stop()
            raise StackError(exc.message) from None
        except BaseException:
            await self.stop()
            raise
        self._started = True

    def after_ready(self) -> None:
        """Start in the background what providers load once the server answers (`warm_up_after_ready`).

        For what most requests never need (the offline moderation model): it stays off the ready time, and
        a request that needs it first awaits the same load."""
        for instance in self.providers.values():
            warm_up = getattr(instance.impl, "warm_up_after_ready", None)
            if warm_up is not None:
                task = asyncio.create_task(_after_delay(warm_up), name=f"warm up {instance.provider_id} after ready")
                self._after_ready.add(task)
                task.add_done_callback(self._after_ready_done)

    def _after_ready_done(self, task: asyncio.Task[None]) -> None:
        self._after_ready.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the request that needs it will say so
            logger.warning("%s failed: %s", task.get_name(), task.exception())

    def _providerless_apis(self) -> list[str]:
        """The configured APIs the stack serves itself (no providers, e.g. prompts), each after those it needs."""
        specs = [CATALOG[api] for api in self.config.served_apis() if api in CATALOG]
        apis = [spec.api for spec in specs  # not models: inference's factory serves it
                if spec.serve is not None and not spec.takes_providers and not spec.always]
        graph = {api: {need for need in CATALOG[api].needs if need in apis} for api in apis}
        return list(TopologicalSorter(graph).static_order())

    async def _load_inference_hooks(self) -> None:
        """The configured hooks, made once every API is served (a guard may use any of them)."""
        router = self.impls.get(Api.inference)
        if not isinstance(router, InferenceRouter):
            if self.config.inference_hooks:
                raise StackError("inference_hooks are configured but no inference provider is")
            return
        for hook in self.config.inference_hooks:
            router.hooks.add(await load_hook(hook.factory, hook.config, self.impls))
        from polystack.core.telemetry.setup import builtin_hooks

        for builtin in await builtin_hooks(self):  # telemetry, then the response cache: last in the chain
            router.hooks.add(builtin)

    async def _start_provider(self, provider: PlannedProvider) -> ProviderInstance:
        logger.info("starting provider %s (%s)", provider.provider_id, provider.spec.provider_type)
        try:
            return await instantiate(provider, self.impls, self.storage)
        except StackError:
            raise
        except Exception as exc:
            raise StackError(
                f"provider '{provider.provider_id}' ({provider.spec.provider_type}) failed to start: {exc}"
            ) from exc

    async def _serve(self, api: str) -> None:
        """Put what serves `api` (its spec's router, or its single provider) into `impls`."""
        assert self._context is not None
        instances = {pid: inst.impl for pid, inst in self.providers.items() if inst.api == api}
        spec = CATALOG.get(api)
        if spec is None or spec.serve is None:
            served = await single_provider(api, instances)
        else:
            serve: Serve = import_dotted(spec.serve)
            served = await serve(self._context, instances)
        self.impls.update(served)

    @property
    def jobs(self) -> JobRunner | None:
        """The stack's job runner, once an API that runs background work is served."""
        return self._context.jobs if self._context is not None else None

    def provider_types_of(self, api: str) -> list[str]:
        source = serving_api(api)
        return sorted({inst.spec.provider_type for inst in self.providers.values() if inst.api == source})

    async def stop(self) -> None:
        """Stop routers and routing tables, then providers in reverse start order; failures are logged."""
        for task in list(self._after_ready):
            task.cancel()
        await asyncio.gather(*self._after_ready, return_exceptions=True)
        jobs = self._context.jobs if self._context is not None else None
        if jobs is not None:  # running jobs go back to the queue, for this server's next start or a peer
            await jobs.stop()
            assert self._context is not None  # the jobs came from it
            self._context.jobs = None
        stoppers = self._context.stoppers if self._context is not None else []
        for stop in reversed(stoppers):
            try:
                await stop()
            except Exception:
                logger.exception("stopping %s failed", getattr(stop, "__qualname__", stop))
        stoppers.clear()
        for instance in reversed(list(self.providers.values())):
            shutdown = getattr(instance.impl, "shutdown", None)
            if shutdown is None:
                continue
            try:
                await shutdown()
            except Exception:
                logger.exception("provider %s failed to shut down", instance.provider_id)
        self.providers.clear()
        self.impls.clear()
        await self.storage.close()
        self._started = False


async def _after_delay(warm_up: Callable[[], Awaitable[None]]) -> None:
    await asyncio.sleep(AFTER_READY_DELAY_SECONDS)
    await warm_up()
