"""MCP failures as Polystack errors that name the server's host only, never a header or a full URL.

The SDK reports a failure as an `MCPError` (a JSON-RPC error, or its stand-in for an HTTP status), an
httpx2 transport error, or any of these inside anyio exception groups; `failure_of` finds the one that
matters and `as_polystack_error` says it to our caller.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import anyio
import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, INVALID_PARAMS, INVALID_REQUEST, REQUEST_TIMEOUT

from polystack.apis.errors import (
    InvalidRequestError,
    PolystackError,
    ProviderError,
    ProviderTimeoutError,
    ServiceUnavailableError,
)
from polystack.providers.utils.mcp.credentials import endpoint_host, masked


class SessionClosed(Exception):
    """The session closed (or broke) before the job ran (`sent=False`) or while it ran: the pool reopens it."""

    def __init__(self, *, sent: bool) -> None:
        super().__init__("the MCP session closed")
        self.sent = sent


class HandshakeTimeout(TimeoutError):
    """The session did not open (connect and initialize) within the connect timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no handshake within {seconds:g}s")
        self.seconds = seconds


class McpHandshakeRefused(Exception):
    """The server answered the streamable HTTP handshake with this HTTP status (404/405: try SSE)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def failure_of(exc: BaseException) -> BaseException:
    """The first leaf of nested exception groups that is not a cancellation (the task that actually failed)."""
    leaves = list(_leaves(exc))
    return next((leaf for leaf in leaves if isinstance(leaf, Exception)), leaves[0] if leaves else exc)


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def is_broken_session(exc: BaseException) -> bool:
    """Whether the session itself is gone (connection closed, session unknown to the server): reopen it."""
    exc = failure_of(exc)
    if isinstance(exc, MCPError):
        return exc.error.code == CONNECTION_CLOSED or (
            exc.error.code == INVALID_REQUEST and exc.error.message in ("Session terminated", "Session not found"))
    return isinstance(exc, httpx2.TransportError | ConnectionError | EOFError | anyio.ClosedResourceError
                      | anyio.BrokenResourceError | anyio.EndOfStream)


def not_sent(exc: BaseException) -> bool:
    """Whether the request surely never reached the server (so that running it again cannot run it twice)."""
    exc = failure_of(exc)
    if isinstance(exc, SessionClosed):
        return not exc.sent
    return isinstance(exc, httpx2.ConnectError | anyio.ClosedResourceError | anyio.BrokenResourceError)


def unreachable(provider_id: str, endpoint: str, detail: str) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"Provider '{provider_id}': the MCP server at {endpoint_host(endpoint)} is unreachable ({detail})",
        code="mcp_server_unreachable")


def as_polystack_error(exc: BaseException, *, provider_id: str, endpoint: str, headers: Mapping[str, str],
                       action: str, time_limit: float) -> PolystackError:
    """The error our caller sees for `exc`, raised while doing `action` ("connecting", "tools/call 'x'")."""
    exc = failure_of(exc)
    host = endpoint_host(endpoint)
    if isinstance(exc, PolystackError):
        return exc
    if isinstance(exc, HandshakeTimeout):
        return ProviderTimeoutError(
            provider_id, f"the MCP server at {host} did not open a session within {exc.seconds:g}s")
    if isinstance(exc, TimeoutError | httpx2.TimeoutException) or (
            isinstance(exc, MCPError) and exc.error.code == REQUEST_TIMEOUT):
        return ProviderTimeoutError(provider_id,
                                    f"the MCP server at {host} did not answer {action} within {time_limit:g}s")
    if isinstance(exc, McpHandshakeRefused | httpx2.HTTPStatusError):
        status = exc.status if isinstance(exc, McpHandshakeRefused) else exc.response.status_code
        if status in (401, 403):
            return ProviderError(provider_id, f"the MCP server at {host} refused the credentials (HTTP {status})")
        return ProviderError(provider_id, f"the MCP server at {host} answered {action} with HTTP {status}")
    if isinstance(exc, httpx2.ConnectError | ConnectionError | OSError):
        return unreachable(provider_id, endpoint, "connection failed")
    if isinstance(exc, SessionClosed | httpx2.TransportError) or is_broken_session(exc):
        return unreachable(provider_id, endpoint, "the connection was lost")
    if isinstance(exc, MCPError):
        message = masked(exc.error.message, headers)[:500]
        if exc.error.code == INVALID_PARAMS:
            return InvalidRequestError(f"The MCP server at {host} rejected {action}: {message}", param="arguments")
        return ProviderError(provider_id, f"the MCP server at {host} failed {action}: {message}")
    return ProviderError(provider_id, f"the MCP server at {host} failed {action} ({type(exc).__name__})")
