"""Our OTLP span encoder writes the very message the SDK's encoder builds, for every kind of span and value."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind, StatusCode

from polystack.core.telemetry import otlp_spans, tracing
from polystack.core.telemetry.spans import LightTracerProvider

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def finished_spans() -> list:
    from opentelemetry import propagate
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = InMemorySpanExporter()
    made = LightTracerProvider(sampler=ALWAYS_ON, resource=Resource.create({
        "service.name": "svc", "deployment.replicas": 3, "host.tags": ("a", "b"), "sampling.ratio": 0.5}))
    made.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(made)
    try:
        remote = propagate.extract({"traceparent": TRACEPARENT, "tracestate": "vendor=x"})
        server = tracing.start("POST /v1/chat/completions", {"http.request.method": "POST", "url.path": "/v1/x"},
                               kind=SpanKind.SERVER, context=remote)
        assert server is not None
        server.set_attributes({"http.response.status_code": 502, "polystack.stream": False, "ratio": 1.25,
                               "negative": -7, "big": 2**40, "empty": "", "zero": 0, "flag": True,
                               "ids": ["a", "b"], "counts": [1, 2], "raw": b"\x00\x01", "unicode": "modèle ✓"})
        server.set_status(StatusCode.ERROR)
        with tracing.span("store write", {"polystack.store": "chat_completions"}) as child:
            assert child is not None
        with tracing.span("tool lookup", {"gen_ai.tool.name": "lookup"}) as failed:
            assert failed is not None
            failed.add_event("retry", {"attempt": 2})
            failed.set_status(StatusCode.ERROR, "upstream said no")
        client = tracing.start("GET example.com", {"server.address": "example.com"}, kind=SpanKind.CLIENT)
        assert client is not None
        client.end()
        server.end()
    finally:
        tracing.install(None)
    return list(exporter.get_finished_spans())


def test_our_encoding_decodes_to_the_sdks_message():
    spans = finished_spans()
    assert len(spans) == 4
    ours = ExportTraceServiceRequest.FromString(otlp_spans.encode(spans))
    theirs = ExportTraceServiceRequest.FromString(encode_spans(spans).SerializeToString())
    assert ours == theirs
    # twice: the second time from the kept attribute encodings
    assert ExportTraceServiceRequest.FromString(otlp_spans.encode(spans)) == theirs
    decoded = ours.resource_spans[0].scope_spans[0].spans
    assert {span.name for span in decoded} == {"POST /v1/chat/completions", "store write", "tool lookup",
                                                "GET example.com"}


def test_a_value_of_an_unknown_type_is_refused_not_encoded_silently():  # the exporter then uses the SDK's
    class Odd:
        pass

    try:
        otlp_spans._value(Odd())
    except TypeError as exc:
        assert "Odd" in str(exc)
    else:
        raise AssertionError("an unknown value type must not be encoded silently")
