"""Listing and calling tools on real MCP servers on loopback, over streamable HTTP, SSE and the SSE fallback."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from polystack.apis.errors import InvalidRequestError, ProviderTimeoutError
from polystack.testing.mcp_servers import TOOL_NAMES


@pytest.mark.parametrize("url_kind, transport", [("http_url", "streamable_http"), ("sse_url", "sse"),
                                                  ("legacy_url", "sse")])
async def test_tools_are_listed_and_called_over_each_transport(client, tools, url_kind, transport):
    url = getattr(tools, url_kind)
    listed = {tool.name: tool for tool in await client.list_tools(url)}
    assert set(listed) == set(TOOL_NAMES)
    assert listed["add"].input_schema["properties"].keys() == {"a", "b"}
    assert listed["add"].description == "Adds two integers."

    echoed = await client.call_tool(url, None, "echo", {"text": "hello there"})
    added = await client.call_tool(url, {}, "add", {"a": 2, "b": 40})

    assert (echoed.text, echoed.is_error) == ("hello there", False)
    assert echoed.structured_content == {"result": "hello there"}
    assert echoed.content == [{"type": "text", "text": "hello there"}]
    assert (added.text, added.structured_content) == ("42", {"result": 42})
    # /legacy does not say SSE: the streamable HTTP handshake got a 405 and the client fell back to SSE
    assert client.pool.describe() == [(f"127.0.0.1:{tools.port}", transport, 0)]


async def test_mcp_server_time_answers_the_current_time_in_a_timezone(client, time_server):
    listed = {tool.name: tool for tool in await client.list_tools(time_server.http_url)}
    assert {"get_current_time", "convert_time"} <= set(listed)
    assert listed["get_current_time"].annotations == {"readOnlyHint": True, "destructiveHint": False,
                                                      "idempotentHint": True, "openWorldHint": False}

    result = await client.call_tool(time_server.http_url, None, "get_current_time", {"timezone": "Asia/Tokyo"})

    assert not result.is_error
    assert result.structured_content["timezone"] == "Asia/Tokyo"
    answered = datetime.fromisoformat(result.structured_content["datetime"])
    assert answered.utcoffset() == timedelta(hours=9)
    assert abs(answered - datetime.now(UTC)) < timedelta(minutes=1)


async def test_a_tool_that_raises_gives_an_error_result_not_an_exception(client, tools):
    result = await client.call_tool(tools.http_url, None, "fail", {"message": "the disk is on fire"})

    assert result.is_error
    assert "the disk is on fire" in result.text


async def test_a_tool_slower_than_the_timeout_is_a_timeout_error_and_the_session_lives_on(client, tools):
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError) as raised:
        await client.call_tool(tools.http_url, None, "sleep", {"seconds": 10}, timeout=0.5)

    assert time.monotonic() - started < 3
    assert raised.value.status_code == 504
    assert f"127.0.0.1:{tools.port}" in raised.value.message and "0.5s" in raised.value.message
    assert (await client.call_tool(tools.http_url, None, "echo", {"text": "still here"})).text == "still here"
    assert client.pool.opened == 1


async def test_an_unknown_tool_rejected_by_the_server_is_a_400_naming_the_arguments(client, time_server):
    with pytest.raises(InvalidRequestError) as raised:
        await client.call_tool(time_server.http_url, None, "no_such_tool", {})

    assert raised.value.status_code == 400 and raised.value.param == "arguments"
    assert "no_such_tool" in raised.value.message
