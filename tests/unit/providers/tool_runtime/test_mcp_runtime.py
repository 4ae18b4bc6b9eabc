"""remote::model-context-protocol in-process against real MCP servers on loopback (the test ToolServer and PyPI's
mcp-server-time): listing by group and by endpoint, calls, tool errors, a server that is down, and the caller's
credentials (provider data `mcp_headers`, the `authorization` field) reaching the server and never the logs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

import polystack
from polystack.apis.datatypes import Api
from polystack.core.config import parse_run_config
from polystack.testing.mcp_servers import PRIVATE_TOKEN, TOOL_NAMES, TimeServer, ToolServer
from tests.unit.providers.utils.mcp.conftest import free_port

CONNECT_TIMEOUT, CALL_TIMEOUT = 2.0, 3.0
CALLER_TOKEN = "caller-oauth-token-5d1e77"


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as server:
        yield server


@pytest.fixture(scope="module")
def time_server() -> Iterator[TimeServer]:
    with TimeServer() as server:
        yield server


def config(tmp_path: Any) -> Any:
    return parse_run_config({
        "distro_name": "mcp",
        "apis": ["inference", "tool_runtime"],
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
            "tool_runtime": [{"provider_id": "mcp", "provider_type": "remote::model-context-protocol",
                              "config": {"connect_timeout": CONNECT_TIMEOUT, "call_timeout": CALL_TIMEOUT,
                                         "close_timeout": 2}}],
        },
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")},
                                 "sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


@pytest.fixture
async def stack(tmp_path):  # type: ignore[no-untyped-def]
    async with polystack.connect(config(tmp_path)) as library:
        yield library


async def register(stack: Any, group: str, endpoint: str) -> None:
    reply = await stack.http.post("/v1/toolgroups", json={"toolgroup_id": group, "provider_id": "mcp",
                                                         "mcp_endpoint": {"uri": endpoint}})
    assert reply.status_code == 200, reply.text


async def invoke(stack: Any, tool: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    reply = await stack.http.post("/v1/tool-runtime/invoke", json={"tool_name": tool, "kwargs": kwargs})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def test_one_client_per_provider_closed_at_shutdown(tmp_path, tools):  # type: ignore[no-untyped-def]
    async with polystack.connect(config(tmp_path)) as library:
        provider = library.stack.impls[Api.tool_groups].providers["mcp"]  # type: ignore[attr-defined]
        await register(library, "mcp::tools", tools.http_url)
        await invoke(library, "echo", {"text": "a"})
        await invoke(library, "mcp::tools/add", {"a": 1, "b": 1})
        assert len(provider.client.pool) == 1  # both calls on one pooled session
    assert len(provider.client.pool) == 0


def provider_data(data: dict[str, Any]) -> dict[str, str]:
    return {"X-LlamaStack-Provider-Data": json.dumps(data)}


async def test_list_by_group_and_by_endpoint(stack, tools, time_server):  # type: ignore[no-untyped-def]
    await register(stack, "mcp::tools", tools.http_url)
    await register(stack, "mcp::time", time_server.http_url)
    by_group = (await stack.http.get("/v1/tool-runtime/list-tools", params={"tool_group_id": "mcp::tools"})).json()
    assert sorted(t["name"] for t in by_group["data"]) == sorted(TOOL_NAMES)
    add = next(t for t in by_group["data"] if t["name"] == "add")
    assert add["toolgroup_id"] == "mcp::tools" and set(add["input_schema"]["properties"]) == {"a", "b"}
    assert add["metadata"]["endpoint"] == tools.http_url
    for params in ({"mcp_endpoint[uri]": tools.sse_url}, {"mcp_endpoint": tools.http_url}):
        by_endpoint = (await stack.http.get("/v1/tool-runtime/list-tools", params=params)).json()
        assert sorted(t["name"] for t in by_endpoint["data"]) == sorted(TOOL_NAMES)
    time_tools = (await stack.http.get("/v1/tools", params={"toolgroup_id": "mcp::time"})).json()["data"]
    assert {"get_current_time", "convert_time"} <= {t["name"] for t in time_tools}


async def test_invoke_a_tool_and_a_tool_error(stack, tools, time_server):  # type: ignore[no-untyped-def]
    await register(stack, "mcp::tools", tools.http_url)
    await register(stack, "mcp::time", time_server.http_url)
    added = await invoke(stack, "add", {"a": 2, "b": 3})
    assert added["content"] == [{"type": "text", "text": "5"}] and added["error_message"] is None
    echoed = await invoke(stack, "mcp::tools/echo", {"text": "hello"})
    assert echoed["content"][0]["text"] == "hello"
    now = await invoke(stack, "get_current_time", {"timezone": "UTC"})
    assert json.loads(now["content"][0]["text"])["timezone"] == "UTC"
    failed = await invoke(stack, "fail", {"message": "the disk is full"})
    assert failed["error_code"] == 1 and "the disk is full" in failed["error_message"]
    wrong = await stack.http.post("/v1/tool-runtime/invoke", json={"tool_name": "add", "kwargs": {"a": "two"}})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] in ("kwargs.a", "kwargs.b")


async def test_a_server_that_is_down_is_a_tool_error_within_the_timeout(stack, tmp_path):  # type: ignore[no-untyped-def]
    server = ToolServer().start()
    try:
        await register(stack, "mcp::flaky", server.http_url)
        assert (await invoke(stack, "echo", {"text": "up"}))["content"][0]["text"] == "up"
    finally:
        server.stop()
    started = time.monotonic()
    down = await invoke(stack, "mcp::flaky/echo", {"text": "down"})
    assert time.monotonic() - started < CONNECT_TIMEOUT + CALL_TIMEOUT + 2
    assert down["error_code"] == 503 and "unreachable" in down["error_message"]
    assert f"127.0.0.1:{server.port}" in down["error_message"]
    port = free_port()
    started = time.monotonic()
    listing = await stack.http.get("/v1/tool-runtime/list-tools", params={"mcp_endpoint": f"http://127.0.0.1:{port}/mcp"})
    assert listing.status_code == 503 and time.monotonic() - started < CONNECT_TIMEOUT + 2


async def test_callers_credentials_reach_the_server(stack, tools):  # type: ignore[no-untyped-def]
    await register(stack, "mcp::private", tools.private_url)
    await register(stack, "mcp::public", tools.http_url)
    headers = provider_data({"mcp_headers": {tools.private_url: {"Authorization": f"Bearer {PRIVATE_TOKEN}"}}})
    # the private server answers 401 without the caller's headers: its tools are not listed
    anonymous = await stack.http.get("/v1/tool-runtime/list-tools", params={"mcp_endpoint": tools.private_url})
    assert anonymous.status_code == 502
    listed = await stack.http.get("/v1/tool-runtime/list-tools", params={"mcp_endpoint": tools.private_url},
                                  headers=headers)
    assert listed.status_code == 200 and "whoami" in {t["name"] for t in listed.json()["data"]}
    reply = await stack.http.post("/v1/tool-runtime/invoke", headers=headers, json={
        "tool_name": "mcp::private/whoami", "kwargs": {}})
    assert reply.json()["content"][0]["text"] == f"Bearer {PRIVATE_TOKEN}"
    # the headers go only to the endpoint they are listed under
    reply = await stack.http.post("/v1/tool-runtime/invoke", headers=headers, json={
        "tool_name": "mcp::public/whoami", "kwargs": {}})
    assert reply.json()["content"][0]["text"] == "anonymous"
    # the invoke request's `authorization` field is sent as a bearer token
    reply = await stack.http.post("/v1/tool-runtime/invoke", json={
        "tool_name": "mcp::public/whoami", "kwargs": {}, "authorization": CALLER_TOKEN})
    assert reply.json()["content"][0]["text"] == f"Bearer {CALLER_TOKEN}"
    assert tools.stats.authorizations[-3:] == [f"Bearer {PRIVATE_TOKEN}", None, f"Bearer {CALLER_TOKEN}"]
    # list-tools takes the token as its `authorization` parameter
    listed = await stack.http.get("/v1/tool-runtime/list-tools", params={
        "mcp_endpoint": tools.private_url, "authorization": PRIVATE_TOKEN})
    assert listed.status_code == 200 and "whoami" in {t["name"] for t in listed.json()["data"]}


async def test_callers_credentials_are_never_logged(stack, tools, caplog):  # type: ignore[no-untyped-def]
    """Every logger at DEBUG, through sessions opened with the credentials, a refusal and a call (with tools that
    do not echo them: whoami's answer is the credential itself, and the SDK logs answers at DEBUG)."""
    caplog.set_level(logging.DEBUG)
    await register(stack, "mcp::private", tools.private_url)
    headers = provider_data({"mcp_headers": {tools.private_url: {"Authorization": f"Bearer {PRIVATE_TOKEN}"}}})
    listed = await stack.http.get("/v1/tool-runtime/list-tools", params={"tool_group_id": "mcp::private"},
                                  headers=headers)
    assert listed.status_code == 200
    reply = await stack.http.post("/v1/tool-runtime/invoke", headers=headers, json={
        "tool_name": "mcp::private/echo", "kwargs": {"text": "quiet"}})
    assert reply.json()["content"][0]["text"] == "quiet"
    refused = await stack.http.post("/v1/tool-runtime/invoke", json={
        "tool_name": "mcp::private/echo", "kwargs": {"text": "x"}, "authorization": CALLER_TOKEN})
    assert refused.json()["error_code"] == 502 and CALLER_TOKEN not in refused.text
    assert caplog.records and PRIVATE_TOKEN not in caplog.text and CALLER_TOKEN not in caplog.text
