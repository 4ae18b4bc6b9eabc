"""An MCP server that cannot be reached: a clear error naming its host, never a credential, within the timeout."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from polystack.apis.errors import ProviderError, ServiceUnavailableError
from polystack.providers.utils.mcp import McpClient
from polystack.testing.mcp_servers import PRIVATE_TOKEN, TOOL_NAMES, ToolServer
from tests.unit.providers.utils.mcp.conftest import FAST, free_port

SECRET = "sk-very-secret-token-4242"


@pytest.mark.parametrize("path", ["/mcp", "/sse"])
async def test_a_server_that_is_down_is_a_503_naming_the_host_and_no_secret(client, caplog, path):
    caplog.set_level(logging.DEBUG)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}{path}?tenant=acme"
    started = time.monotonic()

    with pytest.raises(ServiceUnavailableError) as raised:
        await client.call_tool(endpoint, {"X-Api-Key": SECRET}, "echo", {"text": "x"}, authorization=SECRET)

    assert time.monotonic() - started < FAST.connect_timeout + 1
    error = raised.value
    assert error.status_code == 503 and error.code == "mcp_server_unreachable"
    assert f"127.0.0.1:{port}" in error.message
    assert "tenant" not in error.message and path not in error.message  # the host only
    assert SECRET not in str(error.to_body()) and SECRET not in caplog.text
    assert len(client.pool) == 0


async def test_listing_on_a_server_that_is_down_says_the_same(client):
    port = free_port()

    with pytest.raises(ServiceUnavailableError, match=f"127.0.0.1:{port}"):
        await client.list_tools(f"http://127.0.0.1:{port}/mcp", authorization=SECRET)


async def test_a_server_that_goes_down_after_the_session_opened_is_a_503_after_one_reconnect(client, caplog):
    caplog.set_level(logging.DEBUG)
    port = free_port()
    with ToolServer(port) as server:
        await client.call_tool(server.http_url, None, "echo", {"text": "x"}, authorization=SECRET)

    with pytest.raises(ServiceUnavailableError, match=f"127.0.0.1:{port}"):
        await client.call_tool(server.http_url, None, "echo", {"text": "x"}, authorization=SECRET)
    assert SECRET not in caplog.text


async def test_an_endpoint_that_is_not_mcp_is_a_provider_error_with_its_status(client, tools):
    with pytest.raises(ProviderError) as raised:
        await client.list_tools(f"{tools.base_url}/not-mcp", authorization=SECRET)

    assert "HTTP 404" in raised.value.message and SECRET not in raised.value.message


async def test_a_handshake_that_never_answers_times_out_within_the_connect_timeout():
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = FAST.model_copy(update={"connect_timeout": 0.5})
        started = time.monotonic()
        async with McpClient(settings) as client:
            with pytest.raises(ProviderError) as raised:
                await client.list_tools(f"http://127.0.0.1:{port}/mcp")

        assert time.monotonic() - started < 3
        assert raised.value.status_code == 504 and f"127.0.0.1:{port}" in raised.value.message
        assert "did not open a session within 0.5s" in raised.value.message


async def test_a_url_that_is_not_http_is_refused(client):
    with pytest.raises(ProviderError, match="http:// or https://"):
        await client.list_tools("file:///etc/passwd")


async def test_no_credential_reaches_the_logs_of_a_working_session(client, tools, caplog):
    caplog.set_level(logging.DEBUG)

    await client.list_tools(tools.sse_url, {"X-Api-Key": SECRET}, authorization=SECRET)
    await client.call_tool(tools.http_url, {"X-Api-Key": SECRET}, "echo", {"text": "x"}, authorization=SECRET)
    await client.close()

    assert "HTTP Request: POST" in caplog.text  # the SDK's debug logging was on
    assert SECRET not in caplog.text


async def test_a_server_that_refuses_the_credentials_says_so_without_them(client, tools):
    with pytest.raises(ProviderError) as raised:
        await client.list_tools(tools.private_url, authorization=SECRET)

    assert "refused the credentials (HTTP 401)" in raised.value.message
    assert SECRET not in raised.value.message and len(client.pool) == 0

    listed = await client.list_tools(tools.private_url, authorization=PRIVATE_TOKEN)
    assert {tool.name for tool in listed} == set(TOOL_NAMES)
