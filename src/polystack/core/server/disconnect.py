"""Cancels a request's handler when its client disconnects before the response starts."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WATCH_AFTER = 0.05  # seconds; a client leaving earlier is noticed then


class DisconnectMiddleware:
    """Pure ASGI: once the request body is read, one small task waits for `http.disconnect`.

    A client leaving before its response has ended cancels the request's task: before the response starts
    (nothing else listens then, so a client that gave up would keep an upstream request and its pooled
    connection open until the upstream answers), and while a response is still being sent (the SSE writer
    of apis/http.py listens for nothing itself: this one watcher serves the whole request, instead of a
    listener task per stream). Once the response has ended nothing is cancelled: background tasks handle
    the disconnect themselves.

    The watcher starts only once a request has run for WATCH_AFTER seconds: most requests are answered
    sooner, and a timer costs a tenth of a task.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = _Call(receive, send)
        try:
            await self.app(scope, call.receive, call.send)
        except asyncio.CancelledError:
            if not call.cancelled or call.task is None:
                raise
            call.task.uncancel()  # our own cancellation, not the server's: nothing is left to answer
        finally:
            call.close()


class _Call:
    """One request's view of receive/send, and the watcher cancelling its task."""

    __slots__ = ("_receive", "_send", "task", "started", "ended", "cancelled", "_timer", "_watcher", "_disconnect")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.task = asyncio.current_task()
        self.started = False
        self.ended = False  # the response's last body message was sent
        self.cancelled = False
        self._timer: asyncio.TimerHandle | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._disconnect: asyncio.Future[Message] | None = None

    async def receive(self) -> Message:
        if self._disconnect is not None:  # the watcher owns the server's receive now; share what it gets
            return await asyncio.shield(self._disconnect)
        message = await self._receive()
        if message["type"] == "http.request" and not message.get("more_body", False) and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(WATCH_AFTER, self._start_watching)
        return message

    def _start_watching(self) -> None:
        if self.ended:
            return
        loop = asyncio.get_running_loop()
        self._disconnect = loop.create_future()
        self._watcher = loop.create_task(self._watch())

    async def send(self, message: Message) -> None:
        if not self.started and self._timer is None:  # a response begun without reading the body (a GET)
            self._timer = asyncio.get_running_loop().call_later(WATCH_AFTER, self._start_watching)
        self.started = True
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.ended = True
        await self._send(message)

    async def _watch(self) -> None:
        message = await self._receive()
        while message["type"] == "http.request":  # a body the app did not read: skipped, as Starlette's listener does
            message = await self._receive()
        assert self._disconnect is not None
        if not self._disconnect.done():
            self._disconnect.set_result(message)
        if message["type"] == "http.disconnect" and not self.ended and self.task is not None:
            self.cancelled = True
            self.task.cancel()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
