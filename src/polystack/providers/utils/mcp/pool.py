"""MCP sessions kept open per (endpoint, credentials): reused across calls, bounded, closed when idle.

A session is found by a digest of the endpoint and the caller's headers, so two callers with different
credentials never share one. Beyond `max_sessions` the least recently used session is retired (closed as
soon as its calls in flight end); a session unused for `idle_timeout` is closed by a sweeper task; a
session found broken is reopened once (a tool call is sent again only if the server cannot have run it).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from mcp.client.session import ClientSession

from polystack.apis.errors import ServiceUnavailableError
from polystack.providers.utils.mcp.cache import TtlCache
from polystack.providers.utils.mcp.credentials import endpoint_host, session_key
from polystack.providers.utils.mcp.errors import (
    McpHandshakeRefused,
    SessionClosed,
    failure_of,
    is_broken_session,
    not_sent,
)
from polystack.providers.utils.mcp.session import McpSession
from polystack.providers.utils.mcp.settings import McpClientSettings, TransportMode
from polystack.providers.utils.mcp.transport import first_transport

logger = logging.getLogger(__name__)

T = TypeVar("T")
SSE_FALLBACK_STATUSES = (404, 405)  # a server that only speaks the legacy SSE transport answers the POST so


class McpSessionPool:
    """The open sessions of one `McpClient`, keyed by a digest of (endpoint, headers)."""

    def __init__(self, settings: McpClientSettings, *, transport: TransportMode = "auto") -> None:
        self.settings = settings
        self._mode = transport
        self._sessions: OrderedDict[str, McpSession] = OrderedDict()
        self._opening: dict[str, asyncio.Future[McpSession]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._sse_only: TtlCache[str, bool] = TtlCache(ttl=3600, max_entries=1024)  # endpoints that fell back
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False
        self.opened = 0  # sessions opened so far (a counter for tests and metrics)

    def __len__(self) -> int:
        return len(self._sessions)

    def describe(self) -> list[tuple[str, str, int]]:
        """(host, transport, calls in flight) of each open session, least recently used first: no credentials."""
        return [(endpoint_host(s.endpoint), s.transport, s.in_flight) for s in self._sessions.values()]

    async def run(self, endpoint: str, headers: Mapping[str, str],
                  operation: Callable[[ClientSession], Awaitable[T]], time_limit: float, *,
                  idempotent: bool = True) -> T:
        """`operation` on the session for (endpoint, headers), opened if needed and reopened once if broken.

        An operation that is not `idempotent` (a tool call) is retried only when the server cannot have run
        it: the session was gone before the request left, or the server no longer knew the session (404).
        A connection lost while it was in flight is an error, not a second run of the tool.
        """
        key = session_key(endpoint, headers)
        for attempt in (1, 2):
            session = await self._session(key, endpoint, headers)
            try:
                return await session.run(operation, time_limit)
            except Exception as exc:
                broken = isinstance(exc, SessionClosed) or session.expired or is_broken_session(exc)
                if broken:
                    self._forget(key, session)
                if not broken or attempt == 2 or not (idempotent or session.expired or not_sent(exc)):
                    raise
                logger.info("MCP session to %s broke; reconnecting once", endpoint_host(endpoint))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Closes every session and waits for them; the pool opens none afterwards."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        sessions = list(self._sessions.values())
        self._sessions.clear()
        await asyncio.gather(*(session.close() for session in sessions), *self._closing, return_exceptions=True)

    async def _session(self, key: str, endpoint: str, headers: Mapping[str, str]) -> McpSession:
        if self._closed:
            raise ServiceUnavailableError("The MCP client is closed", code="mcp_client_closed")
        self._sweep()
        while True:
            session = self._sessions.get(key)
            if session is not None and session.usable:
                self._sessions.move_to_end(key)
                return session
            pending = self._opening.get(key)
            if pending is None:
                break
            await asyncio.wait({pending})  # another caller is opening it: share its session (or its error)
            if not pending.cancelled():
                return pending.result()
        future: asyncio.Future[McpSession] = asyncio.get_running_loop().create_future()
        self._opening[key] = future
        try:
            session = await self._open(endpoint, headers)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._opening[key]
        future.set_result(session)
        if self._closed:  # closed while this one was opening
            await session.close()
            raise ServiceUnavailableError("The MCP client is closed", code="mcp_client_closed")
        self._sessions[key] = session
        self._evict()
        self._start_sweeper()
        return session

    async def _open(self, endpoint: str, headers: Mapping[str, str]) -> McpSession:
        kind = "sse" if self._sse_only.get(endpoint) else first_transport(endpoint, self._mode)
        session = McpSession(endpoint, headers, kind, self.settings)
        try:
            await session.open()
        except Exception as exc:
            refused = failure_of(exc)
            if not (kind == "streamable_http" and self._mode == "auto" and isinstance(refused, McpHandshakeRefused)
                    and refused.status in SSE_FALLBACK_STATUSES):
                raise
            logger.info("MCP server at %s answered HTTP %s to streamable HTTP; trying SSE",
                        endpoint_host(endpoint), refused.status)
            session = McpSession(endpoint, headers, "sse", self.settings)
            await session.open()
            self._sse_only.put(endpoint, True)
        self.opened += 1
        logger.info("opened an MCP session to %s over %s", endpoint_host(endpoint), session.transport)
        return session

    def _forget(self, key: str, session: McpSession) -> None:
        if self._sessions.get(key) is session:
            del self._sessions[key]
        self._retire(session)

    def _retire(self, session: McpSession) -> None:
        """Closes `session` in the background once its calls in flight end (they keep running meanwhile)."""
        session.retiring = True
        if session.in_flight == 0:
            task = asyncio.get_running_loop().create_task(session.close(), context=contextvars.Context())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _evict(self) -> None:
        while len(self._sessions) > self.settings.max_sessions:
            _, session = self._sessions.popitem(last=False)
            self._retire(session)

    def _sweep(self) -> None:
        """Retires sessions that broke or stayed unused longer than the idle timeout."""
        now = time.monotonic()
        for key, session in list(self._sessions.items()):
            idle = session.in_flight == 0 and now - session.last_used > self.settings.idle_timeout
            if not session.usable or idle:
                self._forget(key, session)

    def _start_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_forever(), name="mcp-session-sweeper", context=contextvars.Context())

    async def _sweep_forever(self) -> None:
        interval = min(self.settings.idle_timeout / 2, 30.0)
        while self._sessions:
            await asyncio.sleep(interval)
            self._sweep()
