"""Metrics leave the process by OTLP/HTTP too, to a receiver set by the standard OTEL_* variables, with the
same names, attributes and values as `/metrics`."""

from __future__ import annotations

from typing import Any

from otlp_receiver import OTLPReceiver

import polystack
from polystack.core.config import parse_run_config
from polystack.core.telemetry import otlp_metrics, tracing

MODEL = "scripted/scripted-model"


def config(tmp_path: Any) -> Any:
    return parse_run_config({
        "distro_name": "otlp-metrics", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}},
    }, env={})


def last(points: list[dict[str, Any]], metric: str, **attributes: str) -> dict[str, Any]:
    """The latest point of `metric` with exactly `attributes` (exports are cumulative: the last one counts)."""
    found = [p for p in points if p["metric"] == metric and p["attributes"] == attributes]
    assert found, f"no {metric} {attributes} among {sorted({p['metric'] for p in points})}"
    return found[-1]


async def test_request_and_token_counters_reach_an_otlp_receiver(tmp_path, monkeypatch):
    with OTLPReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"{receiver.endpoint}/v1/metrics")
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")  # only the export at stop
        monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-metrics")
        async with polystack.connect(config(tmp_path)) as library:
            assert tracing.tracer() is None  # a metrics endpoint alone leaves traces off
            for stream in (False, True, False):
                response = await library.http.post("/v1/chat/completions", json={
                    "model": MODEL, "messages": [{"role": "user", "content": "a b c"}], "stream": stream})
                await response.aread()
                assert response.status_code == 200
            assert (await library.http.get("/v1/models/no/such")).status_code == 404
        points = receiver.points  # the stack's stop exported the final values
    assert points and {p["service"] for p in points} == {"gateway-metrics"}
    assert len({p["instance"] for p in points}) == 1 and points[0]["instance"]  # workers' series stay apart
    route = "/v1/chat/completions"
    requests = last(points, "polystack_http_requests", route=route, method="POST", status="200")
    assert requests["kind"] == "sum" and requests["value"] == 3
    assert requests["point"].start_time_unix_nano < requests["point"].time_unix_nano
    tokens = {"model": MODEL, "provider": "scripted", "principal": "anonymous"}
    assert last(points, "polystack_tokens", direction="input", **tokens)["value"] == 3
    assert last(points, "polystack_tokens", direction="output", **tokens)["value"] == 3
    errors = last(points, "polystack_http_errors", route="/v1/models/{model_id:path}", **{"class": "client_error"})
    assert errors["value"] == 1
    latency = last(points, "polystack_http_request_duration_seconds", route=route, method="POST")
    point = latency["point"]
    assert latency["kind"] == "histogram" and point.count == 3 and sum(point.bucket_counts) == 3
    assert len(point.bucket_counts) == len(point.explicit_bounds) + 1 and point.sum > 0
    depth = last(points, "polystack_store_write_queue_depth")
    assert depth["kind"] == "gauge"


def test_otlp_metrics_follow_the_standard_variables():
    assert not otlp_metrics.wanted({})
    assert otlp_metrics.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert otlp_metrics.wanted({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318/v1/metrics"})
    assert otlp_metrics.wanted({"OTEL_METRICS_EXPORTER": "otlp"})  # the SDK's default endpoint
    assert not otlp_metrics.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_METRICS_EXPORTER": "none"})
    assert not otlp_metrics.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                    "OTEL_METRICS_EXPORTER": "prometheus"})  # that is /metrics
    assert otlp_metrics.wanted({"OTEL_METRICS_EXPORTER": "prometheus,otlp"})
    assert not otlp_metrics.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})
