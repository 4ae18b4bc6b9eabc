"""Stack: everything a run config describes, built, started and stopped in dependency order."""

from __future__ import annotations

import logging
from itertools import groupby
from typing import Any

from polystack.apis.datatypes import Api
from polystack.apis.errors import PolystackError
from polystack.core import secrets
from polystack.core.builtin import InspectImpl, ProvidersImpl
from polystack.core.config import RunConfig
from polystack.core.errors import StackError
from polystack.core.jobs.records import JobRecords
from polystack.core.jobs.runner import JobRunner
from polystack.core.registry import ResourceRegistry
from polystack.core.resolver import ProviderInstance, instantiate, plan
from polystack.core.routing.inference import InferenceRouter
from polystack.core.routing.models import ModelsRoutingTable
from polystack.core.routing.vector_io import VectorIORouter
from polystack.core.storage.backends import Storage
from polystack.core.stores.inference import InferenceStore
from polystack.core.stores.journal import Journal, journal_directory, legacy_journal_directories
from polystack.core.vector_stores.contextual import ContextualDefaults
from polystack.core.vector_stores.query_rewrite import QueryRewriter
from polystack.core.vector_stores.records import VectorStoreRecords
from polystack.providers.registry import all_specs

logger = logging.getLogger("polystack.core")


class Stack:
    """The providers, routing tables and routers of one run config."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        secrets.register(config)  # before anything starts: startup logs and errors are masked too
        self.storage = Storage(config.storage)
        self.registry: ResourceRegistry | None = None
        self.inference_store: InferenceStore | None = None
        self.providers: dict[str, ProviderInstance] = {}
        self.impls: dict[Api, Any] = {}
        self.route_table: list[tuple[str, str, Api]] = []  # (path, method, api), set by the server app
        self.jobs: JobRunner | None = None  # background work of every API, made by the first API that needs it
        self._stoppable: list[Any] = []  # routers with background work, stopped before the providers
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        planned = plan(self.config, all_specs())
        try:
            stores = self.config.storage.stores
            self.registry = ResourceRegistry(await self.storage.kv(stores.metadata, "registry"))
            for api, group in groupby(planned, key=lambda p: p.api):
                for provider in group:
                    logger.info("starting provider %s (%s)", provider.provider_id, provider.spec.provider_type)
                    try:
                        instance = await instantiate(provider, self.impls, self.storage)
                    except StackError:
                        raise
                    except Exception as exc:
                        raise StackError(
                            f"provider '{provider.provider_id}' ({provider.spec.provider_type}) failed to start: {exc}"
                        ) from exc
                    self.providers[provider.provider_id] = instance
                await self._serve(api)
            if self.jobs is not None:  # once every API has registered its job kinds
                await self.jobs.start()
            for instance in self.providers.values():  # embedded models: their first run is slow, so before ready
                if hasattr(instance.impl, "warm_up"):
                    await instance.impl.warm_up()
        except PolystackError as exc:  # e.g. a storage backend that cannot be reached
            await self.stop()
            raise StackError(exc.message) from None
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
            assert self.registry is not None
            table = ModelsRoutingTable(instances, self.registry)
            models = self.config.models
            await table.start(
                self.config.registered_resources.models, models.refresh_interval_seconds, models.registry_cache_seconds
            )
            self.impls[Api.models] = table
            self.impls[Api.inference] = InferenceRouter(table, await self._inference_store())
        elif api == Api.vector_io:
            self.impls[Api.vector_io] = await self._vector_io_router(instances)
        elif len(instances) == 1:
            self.impls[api] = next(iter(instances.values()))
        else:
            raise StackError(f"API '{api.value}' takes exactly one provider; {len(instances)} are configured")

    async def _vector_io_router(self, instances: dict[str, Any]) -> VectorIORouter:
        reference = self.config.storage.stores.vector_stores
        if reference is None:
            raise StackError(
                "the vector_io API keeps its vector stores in a SQL store: configure storage.stores.vector_stores"
            )
        if Api.inference not in self.impls:
            raise StackError("the vector_io API embeds with the inference API: configure an inference provider")
        records = VectorStoreRecords(await self.storage.sql(reference))
        await records.migrate()
        settings = self.config.vector_stores
        jobs = await self._job_runner(reference, settings.ingestion_concurrency)
        contextual = settings.contextual_retrieval_params
        router = VectorIORouter(
            instances,
            records,
            self.impls[Api.inference],
            self.impls.get(Api.files),
            jobs,
            default_provider_id=settings.default_provider_id,
            default_embedding_model=settings.default_embedding_model,
            ingestion_concurrency=settings.ingestion_concurrency,
            embedding_batch_size=settings.embedding_batch_size,
            max_file_bytes=settings.max_file_bytes,
            contextual=ContextualDefaults(
                model=contextual.model, timeout_seconds=contextual.default_timeout_seconds,
                max_concurrency=contextual.default_max_concurrency, max_document_tokens=contextual.max_document_tokens),
            rewriter=QueryRewriter(
                self.impls[Api.inference], settings.default_query_expansion_model,
                prompt=settings.query_expansion_prompt,
                max_tokens=settings.query_expansion_max_tokens, temperature=settings.query_expansion_temperature),
        )
        await router.start()
        return router

    async def _job_runner(self, reference: Any, concurrency: int) -> JobRunner:
        """The one job runner, its jobs table in `reference`'s SQL store."""
        if self.jobs is None:
            records = JobRecords(await self.storage.sql(reference))
            await records.migrate()
            self.jobs = JobRunner(records, concurrency=concurrency)
        return self.jobs

    async def _inference_store(self) -> InferenceStore | None:
        reference = self.config.storage.stores.inference
        if reference is None or not reference.enabled:
            return None
        table = reference.table_name or "chat_completions"
        journal = None
        if reference.durability == "journal":
            backend = self.config.storage.backends[reference.backend]
            journal = Journal(journal_directory(reference.journal_dir, backend, table,
                                                self.config.storage.store_path()))
            if reference.journal_dir is None:
                for earlier in legacy_journal_directories(backend, table):
                    journal.adopt_orphans(earlier)
        store = InferenceStore(
            await self.storage.sql(reference),
            table=table,
            max_queue=reference.max_write_queue_size,
            writers=reference.num_writers,
            durability=reference.durability,
            journal=journal,
        )
        await store.start()
        self.inference_store = store
        return store

    def provider_types_of(self, api: Api) -> list[str]:
        source = Api.inference if api == Api.models else api
        return sorted({inst.spec.provider_type for inst in self.providers.values() if inst.api == source})

    async def stop(self) -> None:
        """Stop routing tables, then providers in reverse start order; failures are logged, not raised."""
        table = self.impls.get(Api.models)
        if table is not None:
            await table.stop()
        if self.jobs is not None:  # running jobs go back to the queue, for this server's next start or a peer
            await self.jobs.stop()
            self.jobs = None
        for router in reversed(self._stoppable):
            await router.stop()
        self._stoppable.clear()
        if self.inference_store is not None:
            await self.inference_store.close()  # flushes pending records before the database closes
            self.inference_store = None
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
        await self.storage.close()
        self._started = False
