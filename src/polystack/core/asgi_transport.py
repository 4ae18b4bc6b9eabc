"""An httpx transport that calls an ASGI app in-process and streams the response body.

httpx's own ASGITransport collects the whole body before returning, which breaks SSE; this one hands
each body chunk to the caller as soon as the app sends it, and cancels the app when the caller closes
the response early (like a client disconnecting).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

_END = object()


class _StreamingBody(httpx.AsyncByteStream):
    def __init__(self, queue: asyncio.Queue[Any], task: asyncio.Task[None], disconnected: asyncio.Event) -> None:
        self._queue = queue
        self._task = task
        self._disconnected = disconnected

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            yield item

    async def aclose(self) -> None:
        self._disconnected.set()
        if not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the app was told to stop
                pass


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Drive `app` for each request; the response starts as soon as the app sends its headers."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": self.client,
            "server": (request.url.host, request.url.port or 80),
        }
        request_sent = False
        disconnected = asyncio.Event()
        started: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        chunks: asyncio.Queue[Any] = asyncio.Queue()

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set_result(message)
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await chunks.put(message["body"])
                if not message.get("more_body", False):
                    await chunks.put(_END)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:  # surfaced to the caller below
                if not started.done():
                    started.set_exception(exc)
                else:
                    await chunks.put(exc if isinstance(exc, Exception) else _END)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                if not started.done():
                    started.set_exception(RuntimeError("the app returned without a response"))
                await chunks.put(_END)

        task = asyncio.create_task(run())
        try:
            start = await started
        except BaseException:
            task.cancel()
            raise
        return httpx.Response(
            status_code=start["status"],
            headers=start.get("headers", []),
            stream=_StreamingBody(chunks, task, disconnected),
            request=request,
        )
