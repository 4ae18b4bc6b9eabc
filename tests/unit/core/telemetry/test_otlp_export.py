"""Spans leave the process by OTLP/HTTP to a receiver set by the standard OTEL_* variables alone."""

from __future__ import annotations

from otlp_receiver import OTLPReceiver

import polystack
from polystack.core.config import parse_run_config
from polystack.core.telemetry import tracing

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


async def test_spans_reach_an_otlp_receiver_configured_by_environment(monkeypatch):
    config = parse_run_config({
        "distro_name": "otlp", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
    }, env={})
    with OTLPReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-token=abc")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-7")
        assert tracing.tracer() is None
        try:
            async with polystack.connect(config) as library:
                assert tracing.tracer() is not None  # on because an endpoint is configured
                response = await library.http.post(
                    "/v1/chat/completions", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
                    json={"model": "scripted/scripted-model", "messages": [{"role": "user", "content": "hi"}]})
                assert response.status_code == 200
        finally:
            tracing.shutdown()  # flushes the batch
    names = {span["name"] for span in receiver.spans}
    assert {"POST /v1/chat/completions", "inference chat_completion"} <= names
    assert {span["trace_id"] for span in receiver.spans} == {TRACE_ID}
    assert {span["service"] for span in receiver.spans} == {"gateway-7"}
    headers = next(headers for path, headers in receiver.requests if path == "/v1/traces")
    assert headers["x-collector-token"] == "abc"
    assert headers["content-type"] == "application/x-protobuf"
