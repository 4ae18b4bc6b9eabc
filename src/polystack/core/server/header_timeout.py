"""An httptools protocol for uvicorn that closes connections whose request headers are too slow to arrive,
and joins the writes of one loop turn into one (core/server/coalescing.py).

uvicorn times out idle keep-alive connections but not a request whose line and headers trickle in, so
a few hundred slow clients can hold every file descriptor. The deadline starts when the connection
opens (or when the next request on it begins) and ends when the headers are complete.
"""

from __future__ import annotations

import asyncio

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from polystack.apis.errors import error_body_for_status
from polystack.core.server.coalescing import CoalescingTransport


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, a header deadline and coalesced writes; use `header_timeout_protocol(seconds)`."""

    header_timeout_seconds = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_seconds, self._headers_timed_out)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # between requests: say why before closing
            message = f"The request headers did not arrive within {self.header_timeout_seconds:g} seconds."
            body = error_body_for_status(408, message)
            body["error"]["code"] = "request_timeout"
            payload = orjson.dumps(body)
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                b"content-length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
            )
        self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class to pass as uvicorn's `http=`, with its header deadline set."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_seconds": seconds})
