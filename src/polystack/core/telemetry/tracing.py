"""OpenTelemetry tracing: the process's tracer (None when off), spans for our own steps, and propagation.

Off (the default), `tracer()` is None and every helper here returns at once: no span, no context object.
On (`telemetry.enabled: true`, or OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set),
spans go to an OTLP/HTTP exporter that reads the standard OTEL_* variables itself. The server span of
each request (server_span.py) continues an incoming `traceparent`; the others are its children.

Attributes never hold message content, keys or headers: model ids, provider ids, hosts, counts, statuses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, SpanKind, Tracer

    from polystack.core.config import TelemetryConfig
    from polystack.core.telemetry.spans import LightTracerProvider

_tracer: Tracer | None = None
_provider: TracerProvider | None = None
_light: LightTracerProvider | None = None  # our spans skip the SDK's Tracer when the provider is ours (spans.py)

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracer() -> Tracer | None:
    """The tracer spans are made with, None while tracing is off."""
    return _tracer


def provider() -> TracerProvider | None:
    return _provider


def wanted(config: TelemetryConfig, env: Mapping[str, str] = os.environ) -> bool:
    """Tracing is on by config or because an OTLP endpoint is configured (unless OTEL_SDK_DISABLED)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return config.enabled or any(env.get(name) for name in _ENDPOINT_VARIABLES)


def make_provider(service_name: str, exporter: SpanExporter | None = None, *, batch: bool = True) -> TracerProvider:
    """A TracerProvider exporting to `exporter` (default: OTLP/HTTP configured by OTEL_* variables).

    The sampler, resource attributes and exporter endpoint, headers and timeout come from the standard
    variables (OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_*).
    """
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from polystack.core.telemetry.spans import LightTracerProvider

    if exporter is None:
        from polystack.core.telemetry.otlp_spans import SpanExporter as OTLPSpanExporter

        exporter = OTLPSpanExporter()
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    made = LightTracerProvider(resource=Resource.create(attributes))
    made.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return made


def install(made: TracerProvider | None) -> None:
    """Make `made` the process's tracer provider (None: tracing off). Not the global OpenTelemetry one,
    so a host application embedding Polystack keeps its own."""
    from polystack.core.telemetry.spans import LightTracerProvider

    global _tracer, _provider, _light
    _provider = made
    _tracer = made.get_tracer("polystack") if made is not None else None
    _light = made if isinstance(made, LightTracerProvider) else None


def configure(config: TelemetryConfig) -> TracerProvider | None:
    """Install tracing as `config` and the environment say, keeping one installed already (tests, embedders)."""
    if _provider is None and wanted(config):
        install(make_provider(config.service_name))
    return _provider


def shutdown() -> None:
    """Flush pending spans and turn tracing off."""
    made = _provider
    install(None)
    if made is not None:
        made.shutdown()


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A child span of the current one around the block (None inside when tracing is off); an exception
    marks it failed with its type only (a message may quote the caller's input)."""
    if _tracer is None:
        yield None
        return
    from opentelemetry import context
    from opentelemetry.trace import set_span_in_context

    made = start(name, attributes)
    assert made is not None
    token = context.attach(set_span_in_context(made))
    try:
        yield made
    except BaseException as exc:
        fail(made, exc)
        raise
    finally:
        context.detach(token)
        made.end()


def start(name: str, attributes: Mapping[str, Any] | None = None, *, kind: SpanKind | None = None,
          context: Context | None = None) -> Span | None:
    """A span to end by hand (one that outlives a block: a stream), child of the current one (or of
    `context`'s); None when off. When the trace is not sampled it may be the parent itself (spans.py)."""
    current = _tracer
    if current is None:
        return None
    from opentelemetry.trace import SpanKind

    if _light is not None:
        return _light.start(name, attributes, kind or SpanKind.INTERNAL, context)
    return current.start_span(name, context=context, kind=kind or SpanKind.INTERNAL, attributes=attributes)


def enter(made: Span) -> Any:
    """Make `made` the current span in the calling task (a hook's `before` runs in the caller's context);
    returns what `leave` restores."""
    from opentelemetry import context
    from opentelemetry.trace import set_span_in_context

    parent = context.get_current()
    context.attach(set_span_in_context(made, parent))
    return parent


def leave(parent: Any) -> None:
    """Restore the context `enter` replaced. No token: a stream's end may run in another task, where
    resetting a token would fail; attaching the parent there is harmless."""
    from opentelemetry import context

    context.attach(parent)


def fail(made: Span, exc: BaseException) -> None:
    from opentelemetry.trace import StatusCode

    if made.is_recording():
        made.set_attribute("error.type", type(exc).__qualname__)
        made.set_status(StatusCode.ERROR)


def inject(headers: Any) -> None:
    """Add `traceparent` (and `tracestate`) of the current span to outgoing `headers`, when tracing is on."""
    if _tracer is None:
        return
    from opentelemetry.propagate import inject as otel_inject

    otel_inject(headers)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the span in progress, for log lines; None when off or outside a span."""
    if _tracer is None:
        return None
    from opentelemetry.trace import get_current_span

    context = get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
