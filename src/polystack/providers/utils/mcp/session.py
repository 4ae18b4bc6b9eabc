"""One MCP session, run by its own owner task; callers hand it work through a queue.

The SDK's transports and `ClientSession` are anyio context managers with task groups inside: they must be
entered and exited by the same task. A pooled session outlives the request that opened it, so one
owner task per session enters them, serves the jobs callers queue (concurrently, in its task group) and
exits them when the session closes. A caller waits on a future with its own timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp_types import Implementation

from polystack.providers.utils.mcp.credentials import endpoint_host
from polystack.providers.utils.mcp.errors import HandshakeTimeout, McpHandshakeRefused, SessionClosed
from polystack.providers.utils.mcp.settings import McpClientSettings
from polystack.providers.utils.mcp.transport import Transport, open_transport

logger = logging.getLogger(__name__)

T = TypeVar("T")
Operation = Callable[[ClientSession], Awaitable[Any]]
CLIENT_INFO = Implementation(name="polystack", version="0.1.0")


@dataclass(eq=False)
class _Job:
    operation: Operation
    future: asyncio.Future[Any]
    scope: anyio.CancelScope | None = field(default=None)

    def cancel(self) -> None:
        self.future.cancel()
        if self.scope is not None:
            self.scope.cancel()


class McpSession:
    """A session to one endpoint with one set of headers, over one transport."""

    def __init__(self, endpoint: str, headers: Mapping[str, str], transport: Transport,
                 settings: McpClientSettings) -> None:
        self.endpoint = endpoint
        self.transport = transport
        self._headers = dict(headers)
        self._settings = settings
        self._send, self._receive = anyio.create_memory_object_stream[_Job](math.inf)
        self._jobs: set[_Job] = set()
        self._owner: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._handshake_status: int | None = None
        self._initialized = False
        self._client_session: ClientSession | None = None
        self.in_flight = 0
        self.last_used = time.monotonic()
        self.closed = False  # takes no more jobs
        self.retiring = False  # evicted from the pool: closes once its last job ends
        self.expired = False  # the server answered 404 to this session's id: it no longer knows the session

    @property
    def usable(self) -> bool:
        """Open, and its connection not known to be lost (the server went away while it was idle)."""
        return not self.closed and not self.expired and not self._connection_lost()

    def _connection_lost(self) -> bool:
        # The SDK's dispatcher stops reading at the transport's end of stream and answers every later request
        # with CONNECTION_CLOSED, unsent; it says so only through this private flag (mcp==2.3.0, pinned).
        dispatcher = getattr(self._client_session, "_dispatcher", None)
        return bool(getattr(dispatcher, "_closed", False))

    async def open(self) -> None:
        """Connects and initializes within the connect timeout, or raises (the owner task is then gone)."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        # A fresh context: the session outlives the request that opened it and must not carry its state.
        self._owner = loop.create_task(self._own(), name=f"mcp-session {endpoint_host(self.endpoint)}",
                                       context=contextvars.Context())
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self._settings.connect_timeout)
        except TimeoutError:
            await self.close(at_once=True)
            raise HandshakeTimeout(self._settings.connect_timeout) from None
        except BaseException:
            await self.close(at_once=True)
            raise

    async def run(self, operation: Callable[[ClientSession], Awaitable[T]], time_limit: float) -> T:
        """`operation`'s result, run by the owner task; TimeoutError after `time_limit` (the job is cancelled)."""
        if self.closed:
            raise SessionClosed(sent=False)
        job = _Job(operation, asyncio.get_running_loop().create_future())
        self._jobs.add(job)
        self.in_flight += 1
        try:
            self._send.send_nowait(job)
            result: T = await asyncio.wait_for(asyncio.shield(job.future), time_limit)
            return result
        except BaseException:
            job.cancel()
            raise
        finally:
            self._jobs.discard(job)
            self.in_flight -= 1
            self.last_used = time.monotonic()
            if self.retiring and self.in_flight == 0:
                await self.close()

    async def close(self, *, at_once: bool = False) -> None:
        """Ends the session (the server is told, on streamable HTTP) and waits for its owner task to finish.

        `at_once` cancels the owner (a handshake that is still waiting), instead of letting it close cleanly.
        """
        self.closed = True
        self._send.close()
        owner = self._owner
        if owner is None or owner.done():
            return
        if at_once:
            owner.cancel()
        try:
            done, _ = await asyncio.wait({owner}, timeout=self._settings.close_timeout)
            if not done:
                logger.warning("MCP session to %s did not close in time; cancelled", endpoint_host(self.endpoint))
                owner.cancel()
                await asyncio.wait({owner})
        except asyncio.CancelledError:
            owner.cancel()  # our caller is cancelled: do not leave the owner running
            raise

    async def _own(self) -> None:
        assert self._ready is not None
        error: BaseException | None = None
        try:
            async with AsyncExitStack() as stack:
                session = await self._connect(stack)
                if not self._ready.done():
                    self._ready.set_result(None)
                async with anyio.create_task_group() as jobs, self._receive:
                    async for job in self._receive:
                        jobs.start_soon(self._serve, session, job)
                    jobs.cancel_scope.cancel()  # closing: cut short any job still running
        except BaseException as exc:  # noqa: BLE001 - whatever ended the session goes to whoever waits on it
            error = exc
        finally:
            self.closed = True
            self._send.close()
            failure = error if isinstance(error, Exception) else SessionClosed(sent=False)
            if not self._ready.done():
                self._ready.set_exception(failure)
                self._ready.exception()  # retrieved here too: open() may have stopped waiting
            for job in list(self._jobs):
                if not job.future.done():
                    job.future.set_exception(SessionClosed(sent=job.scope is not None))
            if error is not None and not isinstance(error, Exception):
                raise error  # a cancellation of this task goes on

    async def _connect(self, stack: AsyncExitStack) -> ClientSession:
        read, write = await stack.enter_async_context(
            open_transport(self.transport, self.endpoint, self._headers, self._settings, self._saw_response))
        session = await stack.enter_async_context(
            ClientSession(read, write, self._settings.call_timeout, client_info=CLIENT_INFO))
        try:
            await session.initialize()
        except Exception:
            status = self._handshake_status
            if status is not None and status >= 400:
                raise McpHandshakeRefused(status) from None
            raise
        self._initialized = True
        self._client_session = session
        return session

    async def _saw_response(self, response: httpx2.Response) -> None:
        """Keeps the HTTP status of a failed handshake, and notes an expired session: the SDK reports either
        only as a JSON-RPC error whose wording is the server's."""
        status = response.status_code
        if not self._initialized and status >= 400 and self._handshake_status is None:
            self._handshake_status = status
        request = response.request
        if self._initialized and status == 404 and request.method == "POST" and (
                "mcp-session-id" in request.headers or "session_id" in request.url.params):  # streamable / SSE
            self.expired = True

    async def _serve(self, session: ClientSession, job: _Job) -> None:
        if job.future.done():
            return  # its caller stopped waiting before it started
        if self._connection_lost():
            job.future.set_exception(SessionClosed(sent=False))
            return
        with anyio.CancelScope() as scope:
            job.scope = scope
            try:
                result = await job.operation(session)
            except Exception as exc:  # noqa: BLE001 - handed to the caller, who maps it
                if not job.future.done():
                    job.future.set_exception(exc)
            else:
                if not job.future.done():
                    job.future.set_result(result)
