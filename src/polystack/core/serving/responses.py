"""Serves responses: the engine over the inference router and the server tools, its store in storage.stores."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.apis.inference.protocol import Inference
from polystack.core.access.policy import DEFAULT_POLICY
from polystack.core.responses.background import EVENT_TTL_SECONDS, BackgroundResponses
from polystack.core.responses.engine import ResponsesEngine
from polystack.core.responses.file_search import FileSearch
from polystack.core.responses.mcp import McpTools
from polystack.core.responses.service import ResponsesService
from polystack.core.responses.store import ResponsesStore
from polystack.core.responses.web_search import WebSearch
from polystack.core.serving import Providers, ServeContext
from polystack.core.streams.event_log import EventLog

EVENTS_NAMESPACE = "response_events"
BACKGROUND_CONCURRENCY = 4  # the job runner's, when this API makes it (it is shared by every API's jobs)


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    inference = context.impls.require(Api.inference, Inference)
    store = None
    reference = context.config.storage.stores.responses
    if reference is not None:
        store = ResponsesStore(await context.storage.sql(reference), table=reference.table_name or "responses",
                               durability=reference.durability, max_queue=reference.max_write_queue_size,
                               writers=reference.num_writers)
        await store.start()
        context.on_stop(store.close)  # writes what is pending before the database closes
    mcp = McpTools()
    context.on_stop(mcp.close)  # the MCP sessions opened for responses
    engine = ResponsesEngine(inference, context.impls, store, server_tools=[FileSearch(), WebSearch(), mcp],
                             safety=context.config.safety)
    background = None
    if store is not None and reference is not None:
        # background responses: jobs beside the responses table, their events in the metadata KV store
        # (shared by replicas when it is PostgreSQL or Redis), under their own namespace
        runner = await context.job_runner(reference, BACKGROUND_CONCURRENCY)
        metadata = context.config.storage.stores.metadata
        own = metadata.model_copy(update={"namespace": EVENTS_NAMESPACE}) if metadata is not None else None
        events = await context.storage.kv(own, EVENTS_NAMESPACE)
        auth = context.config.server.auth
        background = BackgroundResponses(engine, store, runner, EventLog(events, ttl_seconds=EVENT_TTL_SECONDS),
                                         auth.policy() if auth is not None else DEFAULT_POLICY)
    return {Api.responses: ResponsesService(engine, background)}
