"""Traces through the real app: FastAPI's server span, our router and provider spans, the incoming
`traceparent` continued and sent on to a fake OpenAI-compatible upstream (a real HTTP server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import polystack
from polystack.core.config import parse_run_config
from polystack.core.telemetry import tracing
from polystack.testing.fake_upstream import FakeUpstream

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
SECRET_TEXT = "the password is hunter2"
CALLER_KEY = "sk-caller-secret-0123456789"


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


def config(upstream: FakeUpstream, **extra: Any) -> Any:
    return parse_run_config({
        "distro_name": "tracing", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "up", "provider_type": "remote::vllm",
                                     "config": {"url": upstream.base_url, "refresh_models": False}}]},
        **extra,
    }, env={})


def by_name(exporter: InMemorySpanExporter) -> dict[str, Any]:
    return {span.name: span for span in exporter.get_finished_spans()}


async def test_span_tree_continues_the_callers_trace_and_reaches_the_upstream(upstream, spans):
    async with polystack.connect(config(upstream), provider_data={"vllm_api_token": CALLER_KEY}) as library:
        response = await library.http.post(
            "/v1/chat/completions", headers={"traceparent": TRACEPARENT, "Authorization": f"Bearer {CALLER_KEY}"},
            json={"model": "up/fast", "messages": [{"role": "user", "content": SECRET_TEXT}]})
    assert response.status_code == 200
    named = by_name(spans)
    server = named["POST /v1/chat/completions"]
    router = named["inference chat_completion"]
    client = named["POST 127.0.0.1"]
    assert {span.context.trace_id for span in (server, router, client)} == {int(TRACE_ID, 16)}
    assert server.parent.span_id == int(PARENT_ID, 16)
    assert router.parent.span_id == server.context.span_id
    assert client.parent.span_id == router.context.span_id
    assert server.attributes["http.route"] == "/v1/chat/completions"
    assert server.attributes["http.response.status_code"] == 200
    assert router.attributes["gen_ai.request.model"] == "up/fast"
    assert router.attributes["polystack.provider_id"] == "up"
    assert client.attributes["server.address"] == "127.0.0.1"
    assert client.attributes["http.response.status_code"] == 200
    # the upstream got the trace context of the provider call span
    sent = upstream.last_headers["traceparent"].split("-")
    assert sent[1] == TRACE_ID and sent[2] == f"{client.context.span_id:016x}"


async def test_no_content_or_secret_in_any_attribute(upstream, spans):
    async with polystack.connect(config(upstream), provider_data={"vllm_api_token": CALLER_KEY}) as library:
        await library.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {CALLER_KEY}"},
                                json={"model": "up/fast", "messages": [{"role": "user", "content": SECRET_TEXT}]})
        await library.http.post("/v1/chat/completions?api_key=" + CALLER_KEY,
                                json={"model": "up/fast", "messages": [{"role": "user", "content": SECRET_TEXT}]})
    finished = spans.get_finished_spans()
    assert len(finished) >= 6
    for span in finished:
        text = repr(dict(span.attributes or {})) + span.name + repr([dict(e.attributes or {}) for e in span.events])
        assert "hunter2" not in text and CALLER_KEY not in text, span.name


async def test_a_failed_call_marks_its_spans(upstream, spans):
    async with polystack.connect(config(upstream)) as library:
        response = await library.http.post("/v1/chat/completions",
                                           json={"model": "up/drop", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code >= 500
    named = by_name(spans)
    router = named["inference chat_completion"]
    assert router.status.status_code.name == "ERROR" and "error.type" in router.attributes


async def test_a_stream_span_ends_with_the_stream(tmp_path, spans):
    scripted = parse_run_config({
        "distro_name": "tracing", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
    }, env={})
    async with polystack.connect(scripted) as library:
        stream = await library.openai.chat.completions.create(
            model="scripted/scripted-model", messages=[{"role": "user", "content": "one two three"}], stream=True)
        [chunk async for chunk in stream]
    router = by_name(spans)["inference chat_completion"]
    assert router.attributes["polystack.stream"] is True
    assert router.attributes["gen_ai.usage.output_tokens"] == 1
    assert router.attributes["polystack.time_to_first_token_ms"] >= 0


async def test_tracing_off_creates_no_span_and_sends_no_traceparent(upstream):
    exporter = InMemorySpanExporter()
    made = tracing.make_provider("unused", exporter, batch=False)  # made, never installed
    assert tracing.tracer() is None
    async with polystack.connect(config(upstream)) as library:
        response = await library.http.post("/v1/chat/completions",
                                           json={"model": "up/fast", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 200
    assert exporter.get_finished_spans() == ()
    assert "traceparent" not in upstream.last_headers
    made.shutdown()


async def test_an_unsampled_trace_records_nothing_yet_propagates_and_a_sampled_caller_is_followed(
        upstream, monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")  # no root is sampled
    exporter = InMemorySpanExporter()
    tracing.install(tracing.make_provider("sampled", exporter, batch=False))
    try:
        async with polystack.connect(config(upstream)) as library:
            body = {"model": "up/fast", "messages": [{"role": "user", "content": "x"}]}
            assert (await library.http.post("/v1/chat/completions", json=body)).status_code == 200
            assert exporter.get_finished_spans() == ()
            version, trace_id, span_id, flags = upstream.last_headers["traceparent"].split("-")
            assert flags == "00" and int(trace_id, 16) and int(span_id, 16)
            # a caller that sampled its trace: ParentBased records ours too, under its trace id
            response = await library.http.post("/v1/chat/completions", json=body, headers={"traceparent": TRACEPARENT})
            assert response.status_code == 200
    finally:
        tracing.shutdown()
    named = by_name(exporter)
    assert {"POST /v1/chat/completions", "inference chat_completion", "POST 127.0.0.1"} <= set(named)
    assert {span.context.trace_id for span in named.values()} == {int(TRACE_ID, 16)}
    assert upstream.last_headers["traceparent"].endswith("-01")


def test_tracing_is_on_by_config_or_otlp_endpoint_and_off_when_the_sdk_is_disabled():
    from polystack.core.config import TelemetryConfig

    assert not tracing.wanted(TelemetryConfig(), env={})
    assert tracing.wanted(TelemetryConfig(enabled=True), env={})
    assert tracing.wanted(TelemetryConfig(), env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted(TelemetryConfig(), env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert not tracing.wanted(TelemetryConfig(enabled=True), env={"OTEL_SDK_DISABLED": "true"})
