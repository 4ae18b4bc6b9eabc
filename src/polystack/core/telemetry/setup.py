"""Wires observability and the response cache into a stack and its app: the inference hooks, the queue
gauges, the `/metrics` route, the OTLP metrics export and FastAPI's server spans."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig as FastAPITelemetry
from starlette.requests import Request
from starlette.responses import Response

from polystack.core.routing.hooks import InferenceHook
from polystack.core.telemetry import tracing
from polystack.core.telemetry.hook import TelemetryHook
from polystack.core.telemetry.metrics import Metrics

if TYPE_CHECKING:
    from polystack.core.config import TelemetryConfig
    from polystack.core.serving import ServeContext
    from polystack.core.stack import Stack

METRICS_PATH = "/metrics"


def fastapi_telemetry() -> FastAPITelemetry:
    """FastAPI's own telemetry, off whatever global OpenTelemetry provider a host application set: the
    server span is ours (server_span.py), cheaper and without the query string."""
    return {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


async def builtin_hooks(stack: Stack) -> list[InferenceHook]:
    """The hooks telemetry and the response cache add at the end of the chain (telemetry first, so it
    counts cache hits; the cache last, so it stores what the caller got)."""
    hooks: list[InferenceHook] = []
    metrics = stack.metrics
    if metrics is not None or tracing.tracer() is not None:
        hooks.append(TelemetryHook(metrics))
    cache = stack.config.response_cache
    if cache.enabled:
        from polystack.core.cache.hook import CacheHook
        from polystack.core.cache.store import CacheStore, KVCache, MemoryCache

        store: CacheStore
        if cache.store is None:
            memory = MemoryCache(ttl_seconds=cache.ttl_seconds, max_entries=cache.max_entries,
                                 max_bytes=cache.max_bytes)
            if metrics is not None:
                metrics.gauge("polystack_response_cache_entries", "Entries in the in-memory response cache.",
                              lambda: len(memory))
            store = memory
        else:
            store = KVCache(await stack.storage.kv(cache.store, "response_cache"), ttl_seconds=cache.ttl_seconds)
        hooks.append(CacheHook(cache, store, metrics))
    if metrics is not None:
        _queue_gauges(stack, metrics)
    return hooks


def _queue_gauges(stack: Stack, metrics: Metrics) -> None:
    from polystack.apis.datatypes import Api

    def store_queue() -> float | None:
        store = getattr(stack.impls.get(Api.inference), "store", None)
        queue = getattr(store, "_queue", None)
        return float(queue.pending) if queue is not None else None

    def jobs_running() -> float | None:
        jobs = stack.jobs
        return float(len(jobs.running)) if jobs is not None else None

    metrics.gauge("polystack_store_write_queue_depth", "Chat completion records waiting to be written.",
                  store_queue)
    metrics.gauge("polystack_jobs_running", "Background jobs this replica is running.", jobs_running)


def start_metrics_export(metrics: Metrics, config: TelemetryConfig, context: ServeContext) -> None:
    """Push `metrics` by OTLP as well when the environment asks (otlp_metrics.py); stopped with the stack,
    after a last export."""
    from polystack.core.telemetry import otlp_metrics

    export = otlp_metrics.start(metrics.registry, config)
    if export is not None:
        context.on_stop(export.stop)


def install_metrics_route(app: FastAPI, metrics: Metrics) -> None:
    """`/metrics` in Prometheus' text format (not in the OpenAPI schema: it is not part of the API)."""

    async def scrape(_: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    app.add_route(METRICS_PATH, scrape, methods=["GET"], include_in_schema=False)
