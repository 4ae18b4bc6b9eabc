"""BodyLimitMiddleware: a body over its size limit gets 413, one slower than its deadline 408, before it is all read.

The deadline grows with the bytes received, so a large upload at a decent rate is waited for, and a
client trickling a few bytes at a time is cut off after the grace period.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polystack.apis.errors import error_body_for_status
from polystack.core.config import LimitsConfig
from polystack.core.server.replies import WatchedSend, send_error

FORM_OVERHEAD_BYTES = 1024 * 1024  # the multipart fields and boundaries around an uploaded file


class BodyRefused(HTTPException):
    """Raised from `receive`, so whoever is reading the body (FastAPI, the upload parser) stops at once."""

    def __init__(self, status_code: int, message: str, code: str, param: str | None = None) -> None:
        super().__init__(status_code, detail=message, headers={"Connection": "close"})
        self.code = code
        self.param = param

    def to_body(self) -> dict[str, object]:
        body = error_body_for_status(self.status_code, str(self.detail), self.param)
        body["error"]["code"] = self.code
        return body


@dataclass(frozen=True)
class BodyRules:
    max_bytes: int
    timeout_seconds: float  # the grace period; each byte received then adds 1 / min_rate seconds
    min_rate: int
    param: str | None = None  # what a 413 names: the uploaded file, or the body as a whole

    def deadline(self, start: float, received: int) -> float:
        return start + self.timeout_seconds + received / self.min_rate


class BodyLimitMiddleware:
    """Pure ASGI: checks Content-Length up front, then counts and times the body as it arrives."""

    def __init__(self, app: ASGIApp, *, limits: LimitsConfig, upload_bytes: int | None = None) -> None:
        self.app = app
        rate = limits.min_body_bytes_per_second
        self.body = BodyRules(limits.max_body_bytes, limits.body_timeout_seconds, rate)
        self.upload = BodyRules(
            (upload_bytes + FORM_OVERHEAD_BYTES) if upload_bytes else limits.max_body_bytes,
            limits.body_timeout_seconds, rate, param="file",
        )

    def rules_for(self, scope: Scope) -> BodyRules:
        """Multipart POSTs to the files API get the files provider's limit; everything else the body limit."""
        content_type = _header(scope, b"content-type") or b""
        is_upload = (scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/files")
                     and content_type.lower().startswith(b"multipart/form-data"))
        return self.upload if is_upload else self.body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rules = self.rules_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > rules.max_bytes:
            await _send_refusal(send, _too_large(rules))
            return
        watched = WatchedSend(send)

        try:
            await self.app(scope, _LimitedReceive(receive, rules), watched)
        except BodyRefused as exc:
            if not watched.started:  # once a response has begun, the server closes the connection instead
                await _send_refusal(send, exc)


class _LimitedReceive:
    """A `receive` that raises BodyRefused past the byte limit or the deadline; after the body, it is plain."""

    def __init__(self, receive: Receive, rules: BodyRules) -> None:
        self._receive = receive
        self._rules = rules
        self._start = asyncio.get_running_loop().time()
        self._received = 0
        self._done = False

    async def __call__(self) -> Message:
        if self._done:  # waiting for a disconnect while streaming a response has no deadline
            return await self._receive()
        try:
            async with asyncio.timeout_at(self._rules.deadline(self._start, self._received)):
                message = await self._receive()
        except TimeoutError:
            raise BodyRefused(408, "The request body arrived too slowly (the limit is "
                                   f"{self._rules.timeout_seconds:g} s plus 1 s per {self._rules.min_rate} bytes).",
                              "request_timeout") from None
        if message["type"] != "http.request":
            self._done = True
            return message
        self._received += len(message.get("body", b""))
        if self._received > self._rules.max_bytes:
            raise _too_large(self._rules)
        self._done = not message.get("more_body", False)
        return message


def _too_large(rules: BodyRules) -> BodyRefused:
    what = "The uploaded file" if rules.param == "file" else "The request body"
    return BodyRefused(413, f"{what} is larger than the limit of {rules.max_bytes} bytes.", "payload_too_large",
                       rules.param)


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


async def _send_refusal(send: Send, refusal: BodyRefused) -> None:
    await send_error(send, refusal, extra_headers=((b"connection", b"close"),))
