"""BodyLimitMiddleware: a body over its size limit gets 413, one slower than its deadline 408, before it is all read.

The deadline grows with the bytes received, so a large upload at a decent rate is waited for, and a
client trickling a few bytes at a time is cut off after the grace period. The size limit is per route family
(`server.limits.body_limits`, by path prefix): `BodyLimitTable.limit_for(path)` resolves it once per path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polystack.apis.errors import error_body_for_status
from polystack.core.config import LimitsConfig
from polystack.core.server.replies import WatchedSend, send_error

FORM_OVERHEAD_BYTES = 1024 * 1024  # the multipart fields and boundaries around an uploaded file
OPENAI_PREFIX = "/v1/openai/v1/"  # the OpenAI routes mounted again there share their family's limit
CACHED_PATHS = 4096  # distinct paths whose limit is remembered (ids in paths make them many: bounded)


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
    prefix: str | None = None  # the `body_limits` prefix the limit comes from, if one does

    def deadline(self, start: float, received: int) -> float:
        return start + self.timeout_seconds + received / self.min_rate


class BodyLimitTable:
    """The size limit of each path: the longest `body_limits` prefix matching whole segments, else the default."""

    def __init__(self, default: int, prefixes: Mapping[str, int]) -> None:
        self.default = default
        self._prefixes = sorted(prefixes.items(), key=lambda item: len(item[0]), reverse=True)
        self._cache: dict[str, tuple[int, str | None]] = {}

    def limit_for(self, path: str) -> int:
        return self.match(path)[0]

    def match(self, path: str) -> tuple[int, str | None]:
        """(limit, the prefix it comes from or None for the default); computed once per path."""
        if not self._prefixes:
            return self.default, None
        found = self._cache.get(path)
        if found is None:
            found = self._resolve(path)
            if len(self._cache) >= CACHED_PATHS:
                self._cache.clear()
            self._cache[path] = found
        return found

    def _resolve(self, path: str) -> tuple[int, str | None]:
        forms = (path, "/v1/" + path[len(OPENAI_PREFIX):]) if path.startswith(OPENAI_PREFIX) else (path,)
        for prefix, limit in self._prefixes:  # longest first
            if any(_under(form, prefix) for form in forms):
                return limit, prefix
        return self.default, None


def _under(path: str, prefix: str) -> bool:
    return prefix == "/" or path == prefix or path.startswith(prefix) and path[len(prefix)] == "/"


class BodyLimitMiddleware:
    """Pure ASGI: checks Content-Length up front, then counts and times the body as it arrives."""

    def __init__(self, app: ASGIApp, *, limits: LimitsConfig, upload_bytes: int | None = None) -> None:
        self.app = app
        self._timeout, self._rate = limits.body_timeout_seconds, limits.min_body_bytes_per_second
        self.table = BodyLimitTable(limits.max_body_bytes, limits.body_limits)
        self.body = BodyRules(limits.max_body_bytes, self._timeout, self._rate)
        self.upload = BodyRules(
            (upload_bytes + FORM_OVERHEAD_BYTES) if upload_bytes else limits.max_body_bytes,
            self._timeout, self._rate, param="file",
        )
        self._by_prefix = {(prefix, param): BodyRules(limit, self._timeout, self._rate, param, prefix)
                           for prefix, limit in limits.body_limits.items() for param in (None, "file")}

    def rules_for(self, scope: Scope) -> BodyRules:
        """The path's `body_limits` rule, else: multipart POSTs to the files API get the files provider's limit,
        everything else max_body_bytes."""
        content_type = _header(scope, b"content-type") or b""
        is_upload = (scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/files")
                     and content_type.lower().startswith(b"multipart/form-data"))
        prefix = self.table.match(scope["path"])[1]
        if prefix is None:
            return self.upload if is_upload else self.body
        return self._by_prefix[prefix, "file" if is_upload else None]

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
    where = f" for {rules.prefix} (server.limits.body_limits)" if rules.prefix else ""
    return BodyRefused(413, f"{what} is larger than the limit of {rules.max_bytes} bytes{where}.",
                       "payload_too_large", rules.param)


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


async def _send_refusal(send: Send, refusal: BodyRefused) -> None:
    await send_error(send, refusal, extra_headers=((b"connection", b"close"),))
