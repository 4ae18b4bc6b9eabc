"""The access log: one line per request with method, path, status, duration, model and request id; no secrets."""

import logging

import pytest

import polystack
from polystack.core.config import parse_run_config
from polystack.core.logging import KeyValueFormatter, setup_logging

SECRET = "sk-never-in-the-log"


def scripted_config():
    return parse_run_config({
        "distro_name": "access-log",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


@pytest.fixture
async def stack():
    async with polystack.connect(scripted_config()) as stack:
        yield stack


def access_records(caplog):
    return [r for r in caplog.records if r.name == "polystack.access"]


async def test_each_request_logs_one_line_with_method_path_status_duration_model_and_id(stack, caplog):
    caplog.set_level(logging.INFO, logger="polystack")
    body = {"model": "scripted/scripted-model", "messages": [{"role": "user", "content": SECRET}]}
    response = await stack.http.post("/v1/chat/completions", json=body,
                                     headers={"Authorization": f"Bearer {SECRET}",
                                              "X-LlamaStack-Provider-Data": f'{{"openai_api_key": "{SECRET}"}}'})
    assert response.status_code == 200
    [record] = access_records(caplog)
    assert (record.method, record.path, record.status) == ("POST", "/v1/chat/completions", 200)
    assert record.model == "scripted/scripted-model" and record.duration_ms >= 0
    assert record.request_id == response.headers["x-request-id"]
    line = KeyValueFormatter().format(record)
    assert SECRET not in line and "status=200" in line and "model=scripted/scripted-model" in line


async def test_an_incoming_request_id_is_kept_and_an_unsafe_one_replaced(stack, caplog):
    caplog.set_level(logging.INFO, logger="polystack")
    kept = await stack.http.get("/v1/models", headers={"X-Request-ID": "trace-42"})
    replaced = await stack.http.get("/v1/models", headers={"X-Request-ID": "bad id\nforged=line"})
    assert kept.headers["x-request-id"] == "trace-42"
    assert "\n" not in replaced.headers["x-request-id"] and replaced.headers["x-request-id"] != "trace-42"
    first, second = access_records(caplog)
    assert first.request_id == "trace-42" and not hasattr(first, "model")
    assert second.request_id == replaced.headers["x-request-id"]


async def test_errors_and_unknown_routes_are_logged_with_their_status(stack, caplog):
    caplog.set_level(logging.INFO, logger="polystack")
    await stack.http.post("/v1/chat/completions", json={"model": "nope", "messages": []})
    await stack.http.get("/v1/nowhere")
    statuses = [(r.path, r.status) for r in access_records(caplog)]
    assert statuses[0][1] >= 400 and statuses[1] == ("/v1/nowhere", 404)


async def test_the_access_log_switches_off_with_an_environment_variable(stack, caplog, monkeypatch):
    monkeypatch.setenv("POLYSTACK_ACCESS_LOG", "false")
    root, access = logging.getLogger("polystack"), logging.getLogger("polystack.access")
    try:
        setup_logging()
        await stack.http.get("/v1/models")
        assert not access.isEnabledFor(logging.INFO) and access_records(caplog) == []
    finally:
        access.setLevel(logging.NOTSET)
        root.setLevel(logging.NOTSET)
        root.handlers.clear()
