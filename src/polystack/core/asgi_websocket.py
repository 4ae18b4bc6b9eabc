"""A WebSocket client for an ASGI app in-process: the library client's counterpart of a `ws://` connection.

    async with connect_websocket(app, "/v1/echo") as ws:
        await ws.send("hi")
        reply = await ws.recv()

Its shape follows the `websockets` client (send, recv, close, `async for`), so code written against a
server over the network runs unchanged in library mode. It speaks the ASGI WebSocket protocol to the same
app the server runs: `websocket.connect` -> `websocket.accept` | `websocket.close`, then `websocket.receive`
/ `websocket.send` both ways, and `websocket.disconnect` when the client closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

NORMAL_CLOSURE = 1000
ABNORMAL_CLOSURE = 1006  # the app ended without a close frame
CLOSE_GRACE_SECONDS = 5.0  # how long the app may take to finish after the client closed


class WebSocketClosed(Exception):
    """The connection is closed: `code` and `reason` are those of the close frame."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class WebSocketRejected(WebSocketClosed):
    """The app closed the connection instead of accepting it (the handshake failed)."""


class _Closed:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class ASGIWebSocket:
    """One open connection to the app; use it through `connect_websocket`."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        self._app = app
        self._scope = scope
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[str | bytes | _Closed | BaseException] = asyncio.Queue()
        self._accepted: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None
        self.closed: _Closed | None = None
        self.subprotocol: str | None = None

    async def _open(self) -> None:
        await self._to_app.put({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._run())
        try:
            accept = await self._accepted
        except BaseException:
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            raise
        self.subprotocol = accept.get("subprotocol")

    async def send(self, message: str | bytes) -> None:
        """Send a text (str) or binary (bytes) message to the app."""
        if self.closed is not None:
            raise WebSocketClosed(self.closed.code, self.closed.reason)
        key = "text" if isinstance(message, str) else "bytes"
        await self._to_app.put({"type": "websocket.receive", key: message})

    async def recv(self) -> str | bytes:
        """The app's next message; WebSocketClosed once the connection is closed."""
        if self.closed is not None:
            raise WebSocketClosed(self.closed.code, self.closed.reason)
        item = await self._from_app.get()
        if isinstance(item, _Closed):
            self.closed = item
            raise WebSocketClosed(item.code, item.reason)
        if isinstance(item, BaseException):
            self.closed = _Closed(ABNORMAL_CLOSURE, "the app failed")
            raise item
        return item

    async def __aiter__(self) -> AsyncIterator[str | bytes]:
        """Messages until the connection closes normally; an abnormal close raises WebSocketClosed."""
        while True:
            try:
                yield await self.recv()
            except WebSocketClosed as closed:
                if closed.code == NORMAL_CLOSURE:
                    return
                raise

    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close from the client side; the app receives `websocket.disconnect` and gets time to finish."""
        if self.closed is None:
            self.closed = _Closed(code, reason)
            await self._to_app.put({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), CLOSE_GRACE_SECONDS)
            except (TimeoutError, Exception):  # noqa: BLE001 - the app had its chance to end
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    async def _receive(self) -> Message:
        return await self._to_app.get()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            if not self._accepted.done():
                self._accepted.set_result(message)
        elif kind == "websocket.send":
            text = message.get("text")
            await self._from_app.put(text if text is not None else message.get("bytes") or b"")
        elif kind == "websocket.close":
            code, reason = message.get("code", NORMAL_CLOSURE), message.get("reason") or ""
            if not self._accepted.done():
                self._accepted.set_exception(WebSocketRejected(code, reason))
            await self._from_app.put(_Closed(code, reason))

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        except BaseException as exc:  # surfaced to the caller's next recv or the handshake
            if not self._accepted.done():
                self._accepted.set_exception(exc)
            else:
                await self._from_app.put(exc if isinstance(exc, Exception) else _Closed(ABNORMAL_CLOSURE, ""))
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            if not self._accepted.done():
                self._accepted.set_exception(WebSocketRejected(ABNORMAL_CLOSURE, "the app did not accept"))
            await self._from_app.put(_Closed(ABNORMAL_CLOSURE, "the app ended without closing"))


def websocket_scope(url: httpx.URL, headers: Mapping[str, str], subprotocols: list[str],
                    client: tuple[str, int]) -> dict[str, Any]:
    """The ASGI scope of a WebSocket handshake to `url` (ws:// or wss://, or the http(s):// equivalents)."""
    secure = url.scheme in ("wss", "https")
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "wss" if secure else "ws",
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": client,
        "server": (url.host, url.port or (443 if secure else 80)),
        "subprotocols": subprotocols,
        "extensions": {},
    }


@asynccontextmanager
async def connect_websocket(app: ASGIApp, url: str | httpx.URL, *, headers: Mapping[str, str] | None = None,
                            subprotocols: list[str] | None = None,
                            client: tuple[str, int] = ("127.0.0.1", 0)) -> AsyncIterator[ASGIWebSocket]:
    """Open a WebSocket to `app` (WebSocketRejected if it refuses), closing it when the block ends."""
    target = httpx.URL(url)
    if not target.is_absolute_url:
        target = httpx.URL("ws://polystack.local").join(target)
    all_headers = {"host": target.netloc.decode(), **(headers or {})}
    socket = ASGIWebSocket(app, websocket_scope(target, all_headers, subprotocols or [], client))
    await socket._open()
    try:
        yield socket
    finally:
        await socket.close()
