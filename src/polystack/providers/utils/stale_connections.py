"""Retrying once, on a fresh connection, a request whose pooled connection the upstream had already closed.

Upstreams close idle keep-alive connections on their own schedule; a request sent on one in the moment
before its close arrives fails without an answer ("Server disconnected"). Right after a burst many
pooled connections go idle at once, so that moment is common. The request is retried once on a new
connection, and only when it is safe: the connection came from the pool, it broke before any response
arrived (an upstream that closes an idle connection never read the request), and the body can be resent.
A request that fails on a fresh connection, or after a response began, is never retried.
"""

from __future__ import annotations

from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import aiohttp
import httpx


class _Attempt:
    __slots__ = ("reused",)

    def __init__(self) -> None:
        self.reused = False


_attempt: ContextVar[_Attempt | None] = ContextVar("upstream_attempt", default=None)


async def _on_reuse(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
    attempt = _attempt.get()
    if attempt is not None:
        attempt.reused = True


def reuse_tracing() -> aiohttp.TraceConfig:
    """The trace config a pooled session needs so RetryStale knows when a connection came from its pool."""
    trace = aiohttp.TraceConfig()
    trace.on_connection_reuseconn.append(_on_reuse)
    trace.freeze()
    return trace


class RetryStale(httpx.AsyncBaseTransport):
    """Sends through `pooled`; a request its stale pooled connection dropped is sent again through `fresh`."""

    def __init__(self, pooled: httpx.AsyncBaseTransport, fresh: httpx.AsyncBaseTransport) -> None:
        self.pooled = pooled
        self.fresh = fresh

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = _Attempt()
        token = _attempt.set(attempt)
        try:
            return await self.pooled.handle_async_request(request)
        except httpx.TransportError as exc:
            if not (attempt.reused and _dropped(exc) and _resendable(request)):
                raise
        finally:
            _attempt.reset(token)
        return await self.fresh.handle_async_request(request)

    async def aclose(self) -> None:
        await self.pooled.aclose()
        await self.fresh.aclose()


def _dropped(exc: httpx.TransportError) -> bool:
    """The connection was closed or reset under the request, not timed out or refused."""
    cause = exc.__cause__
    return (isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
            and not isinstance(cause, aiohttp.ClientConnectorError))


def _resendable(request: httpx.Request) -> bool:
    try:
        request.content  # noqa: B018 - raises when the body was a stream that is now consumed
    except httpx.RequestNotRead:
        return False
    return True
