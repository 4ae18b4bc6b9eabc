"""Serves inference: the models routing table over the inference providers, and the router in front."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.apis.inference.protocol import InferenceProvider
from polystack.core.impls import all_as
from polystack.core.routing.inference import InferenceRouter
from polystack.core.routing.models import ModelsRoutingTable
from polystack.core.serving import Providers, ServeContext
from polystack.core.stores.inference import InferenceStore
from polystack.core.stores.journal import Journal, journal_directory, legacy_journal_directories


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    config = context.config
    table = ModelsRoutingTable(all_as(providers, InferenceProvider, Api.inference), context.registry)
    await table.start(config.registered_resources.models, config.models.refresh_interval_seconds,
                      config.models.registry_cache_seconds)
    context.on_stop(table.stop)
    return {Api.models: table, Api.inference: InferenceRouter(table, await _inference_store(context))}


async def _inference_store(context: ServeContext) -> InferenceStore | None:
    storage = context.config.storage
    reference = storage.stores.inference
    if reference is None or not reference.enabled:
        return None
    table = reference.table_name or "chat_completions"
    journal = None
    if reference.durability == "journal":
        backend = storage.backends[reference.backend]
        journal = Journal(journal_directory(reference.journal_dir, backend, table, storage.store_path()))
        if reference.journal_dir is None:
            for earlier in legacy_journal_directories(backend, table):
                journal.adopt_orphans(earlier)
    store = InferenceStore(
        await context.storage.sql(reference),
        table=table,
        max_queue=reference.max_write_queue_size,
        writers=reference.num_writers,
        durability=reference.durability,
        journal=journal,
    )
    await store.start()
    context.on_stop(store.close)  # flushes pending records before the database closes
    return store
