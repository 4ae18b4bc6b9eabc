"""JSON log lines carry the request id and the trace id; Llama Stack's per-category levels variable works."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

import polystack
from polystack.core.config import parse_run_config
from polystack.core.logging import setup_logging

TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4737"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger("polystack")
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("polystack.server", "polystack.core",
                                                               "polystack.access")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def scripted() -> object:
    return parse_run_config({
        "distro_name": "logs", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
    }, env={})


async def test_json_lines_carry_request_and_trace_ids(monkeypatch, capsys, restore_logging, spans):
    monkeypatch.delenv("POLYSTACK_LOG_FORMAT", raising=False)
    setup_logging({"format": "json"})  # as `logging: {format: json}` in the run config
    async with polystack.connect(scripted()) as library:
        capsys.readouterr()
        response = await library.http.post(
            "/v1/chat/completions", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
            json={"model": "scripted/scripted-model", "messages": [{"role": "user", "content": "hi"}]})
        logging.getLogger("polystack.core").info("outside any request")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [access] = [line for line in lines if line["logger"] == "polystack.access"]
    assert access["request_id"] == response.headers["x-request-id"]
    assert access["trace_id"] == TRACE_ID and len(access["span_id"]) == 16
    [outside] = [line for line in lines if line["message"] == "outside any request"]
    assert "trace_id" not in outside and "request_id" not in outside


async def test_a_line_logged_inside_a_request_has_the_callers_trace_id_with_tracing_off(
        monkeypatch, capsys, restore_logging):
    from polystack.apis.datatypes import Api
    from polystack.core.routing.hooks import HookBase

    class Talk(HookBase):
        async def before(self, call: object) -> None:
            logging.getLogger("polystack.core").warning("inside the request")

    monkeypatch.setenv("POLYSTACK_LOG_FORMAT", "json")
    setup_logging()
    async with polystack.connect(scripted()) as library:
        library.stack.impls[Api.inference].hooks.add(Talk())
        capsys.readouterr()
        response = await library.http.post(
            "/v1/chat/completions", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
            json={"model": "scripted/scripted-model", "messages": [{"role": "user", "content": "hi"}]})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [inside] = [line for line in lines if line["message"] == "inside the request"]
    assert inside["request_id"] == response.headers["x-request-id"] and inside["trace_id"] == TRACE_ID


@pytest.mark.parametrize("variable", ["LLAMA_STACK_LOGGING", "POLYSTACK_LOGGING"])
def test_per_category_levels_from_either_variable(monkeypatch, restore_logging, variable):
    monkeypatch.delenv("LLAMA_STACK_LOGGING", raising=False)
    monkeypatch.delenv("POLYSTACK_LOGGING", raising=False)
    monkeypatch.setenv(variable, "server=debug;core=error")
    setup_logging()
    assert logging.getLogger("polystack.server").level == logging.DEBUG
    assert logging.getLogger("polystack.core").level == logging.ERROR


def test_polystack_logging_wins_over_llama_stack_logging(monkeypatch, restore_logging):
    monkeypatch.setenv("LLAMA_STACK_LOGGING", "server=debug")
    monkeypatch.setenv("POLYSTACK_LOGGING", "server=warning")
    setup_logging()
    assert logging.getLogger("polystack.server").level == logging.WARNING
