"""`/metrics` scraped through the real app and parsed with prometheus_client's own parser."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

import polystack
from polystack.core.config import parse_run_config

MODEL = "scripted/scripted-model"


def config(tmp_path: Any, *, auth: bool = False, metrics: dict[str, Any] | None = None,
           cache: bool = False) -> Any:
    body: dict[str, Any] = {
        "distro_name": "metrics", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "telemetry": {"metrics": metrics or {}},
        "response_cache": {"enabled": cache},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}},
    }
    if auth:
        body["server"] = {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "key-alice", "principal": "alice"}]}}}
    return parse_run_config(body, env={})


async def scrape(library: Any, headers: dict[str, str] | None = None) -> dict[tuple[str, tuple[Any, ...]], float]:
    response = await library.http.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, tuple[Any, ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[Any, ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def chat(library: Any, **extra: Any) -> int:
    response = await library.http.post("/v1/chat/completions", json={
        "model": extra.pop("model", MODEL), "messages": [{"role": "user", "content": "a b c"}], **extra})
    if extra.get("stream"):
        await response.aread()
    return response.status_code


async def test_requests_errors_latency_and_tokens_are_counted(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        before = await scrape(library)
        assert await chat(library) == 200
        assert await chat(library, stream=True) == 200
        assert await chat(library, model="scripted/missing") == 404
        assert (await library.http.get("/v1/models/no/such")).status_code == 404
        after = await scrape(library)
    route = "/v1/chat/completions"

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("polystack_http_requests_total", route=route, method="POST", status="200") == 2
    assert moved("polystack_http_requests_total", route=route, method="POST", status="404") == 1
    assert moved("polystack_http_errors_total", route=route, **{"class": "client_error"}) == 1
    assert moved("polystack_http_request_duration_seconds_count", route=route, method="POST") == 3
    # a route template, never a raw path: /v1/models/no/such counts under its route
    assert not any("no/such" in repr(key) for key in after)
    ok = {"kind": "chat_completion", "model": MODEL, "provider": "scripted", "outcome": "ok"}
    assert moved("polystack_inference_calls_total", **ok) == 2
    tokens = {"model": MODEL, "provider": "scripted", "principal": "anonymous"}
    assert moved("polystack_tokens_total", direction="input", **tokens) == 2
    assert moved("polystack_tokens_total", direction="output", **tokens) == 2
    assert moved("polystack_time_to_first_token_seconds_count", model=MODEL, provider="scripted") == 1
    assert value(after, "polystack_store_write_queue_depth") >= 0
    assert ("polystack_store_write_queue_depth", ()) in after


async def test_tokens_are_counted_per_principal_and_metrics_need_the_api_key(tmp_path):
    async with polystack.connect(config(tmp_path, auth=True), api_key="key-alice") as library:
        await chat(library)
        anonymous = await library.http.get("/metrics", headers={"Authorization": ""})
        assert anonymous.status_code == 401
        samples = await scrape(library)
    assert value(samples, "polystack_tokens_total", direction="output", model=MODEL, provider="scripted",
                 principal="alice") == 1


async def test_metrics_can_be_open_while_the_api_needs_a_key(tmp_path):
    async with polystack.connect(config(tmp_path, auth=True, metrics={"auth": "open"})) as library:
        assert (await library.http.get("/metrics")).status_code == 200
        assert (await library.http.get("/v1/models")).status_code == 401


async def test_cache_hits_and_misses_are_counted(tmp_path):
    async with polystack.connect(config(tmp_path, cache=True)) as library:
        for _ in range(3):
            await chat(library)
        samples = await scrape(library)
    assert value(samples, "polystack_response_cache_lookups_total", kind="chat_completion", result="miss") == 1
    assert value(samples, "polystack_response_cache_lookups_total", kind="chat_completion", result="hit") == 2
    cached = {"kind": "chat_completion", "model": MODEL, "provider": "scripted", "outcome": "cached"}
    assert value(samples, "polystack_inference_calls_total", **cached) == 2
    # a hit used no tokens upstream
    assert value(samples, "polystack_tokens_total", direction="output", model=MODEL, provider="scripted",
                 principal="anonymous") == 1
    assert value(samples, "polystack_response_cache_entries") == 1


async def test_metrics_off_means_no_route_and_no_hook(tmp_path):
    from polystack.apis.datatypes import Api

    async with polystack.connect(config(tmp_path, metrics={"enabled": False})) as library:
        assert (await library.http.get("/metrics")).status_code == 404
        assert len(library.stack.impls[Api.inference].hooks) == 0
