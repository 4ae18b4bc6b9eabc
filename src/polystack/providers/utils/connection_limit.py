"""A bound on one provider's concurrent upstream requests, with a queue that gives up after a timeout.

aiohttp's pool makes a request wait for a free connection for as long as its other timeouts allow
(minutes, for inference). Here a request waits at most `pool_timeout` seconds and then fails with
httpx.PoolTimeout (answered as a 503 naming the provider), and each provider has its own bound, so
one stuck provider never holds callers of another.
"""

from __future__ import annotations

import asyncio

import httpx


class LimitedTransport(httpx.AsyncBaseTransport):
    """Lets at most `limit` requests hold a response at once; a slot is freed when the response closes."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, limit: int, pool_timeout: float) -> None:
        self.inner = inner
        self.limit = limit
        self.pool_timeout = pool_timeout
        self._slots = asyncio.Semaphore(limit)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._acquire(request)
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        response.stream = _Releasing(response.stream, self._slots)  # type: ignore[arg-type]
        return response

    async def _acquire(self, request: httpx.Request) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # returns at once: no await on the hot path
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self.pool_timeout)
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"all {self.limit} connections stayed busy for {self.pool_timeout:g} s", request=request) from None

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Releasing(httpx.AsyncByteStream):
    """The inner body stream, iterated directly; closing it frees the request's slot (once)."""

    __slots__ = ("_inner", "_slots")

    def __init__(self, inner: httpx.AsyncByteStream, slots: asyncio.Semaphore | None) -> None:
        self._inner = inner
        self._slots = slots

    def __aiter__(self):  # type: ignore[no-untyped-def]
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            slots, self._slots = self._slots, None
            if slots is not None:
                slots.release()
