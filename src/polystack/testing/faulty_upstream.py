"""A fake OpenAI-compatible upstream (a real HTTP server on loopback) that fails on command.

Raw asyncio, like fake_upstream.py, so a test controls each connection. Every request takes the next
behaviour queued with `fail(...)`, else the sticky `mode`:
- "ok": a chat completion, text completion or embeddings answer (SSE when the request streams), whose text
  names this upstream (`answer from <name>`).
- "hang": never answered; the request waits until the client closes the connection (a timeout).
- "reset": the connection is reset (TCP RST) right after the request is read.
- "429" / "429:<seconds>": rate limited, with `Retry-After: <seconds>` (default 1).
- "500", "503": a server error in OpenAI's error shape.
- "400": the caller's bad request; "context": OpenAI's context_length_exceeded 400; "policy": a
  content_policy_violation 400.
- "die:<n>": a stream that sends n content chunks and then drops the connection (a plain request: reset).
- "stall:<n>": a stream that sends n content chunks and then nothing more, never ending.
- "empty": a stream (or body) with no event at all.
- "slow:<seconds>": answered "ok" after that pause.
`counts` tells how many requests met each behaviour.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections import Counter
from typing import Any

_STATUS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable"}


class FaultyUpstream:
    def __init__(self, name: str = "upstream", *, mode: str = "ok") -> None:
        self.name = name
        self.mode = mode
        self.queued: list[str] = []
        self.counts: Counter[str] = Counter()
        self.received = 0
        self.last_body: dict[str, Any] = {}
        self.hanging = 0  # "hang" requests whose client has not gone yet
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail(self, *behaviours: str) -> None:
        """Queue behaviours for the next requests, in order; then `mode` again."""
        self.queued.extend(behaviours)

    async def __aenter__(self) -> FaultyUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port or self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection (a provider going down); `start()` brings it back."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                path, body = request
                self.received += 1
                self.last_body = body
                behaviour = self.queued.pop(0) if self.queued else self.mode
                kind, _, arg = behaviour.partition(":")
                self.counts[kind] += 1
                if not await self._answer(kind, arg, path, body, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return  # a cancelled handler: the upstream is stopping
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _answer(self, kind: str, arg: str, path: str, body: dict[str, Any], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> bool:
        """Act out one behaviour; whether the connection stays open for another request."""
        if kind == "slow":
            await asyncio.sleep(float(arg or 1))
            kind = "ok"
        if kind == "hang":
            self.hanging += 1
            try:
                await reader.read()  # until the client gives up
            finally:
                self.hanging -= 1
            return False
        if kind == "reset" or (kind == "die" and not body.get("stream")):
            _reset(writer)
            return False
        if kind in ("die", "stall"):
            writer.write(_stream_head())
            for n in range(int(arg or 1)):
                writer.write(_chunked(_event(self._chunk(body, {"content": f"part {n} "}))))
            await writer.drain()
            if kind == "stall":
                return await self._answer("hang", "", path, body, reader, writer)
            _reset(writer)
            return False
        if kind == "empty":
            writer.write(_stream_head() + b"0\r\n\r\n")
            await writer.drain()
            return True
        if kind == "ok":
            if body.get("stream"):
                events = b"".join(_event(e) for e in self._stream(body)) + b"data: [DONE]\n\n"
                writer.write(_stream_head() + _chunked(events) + b"0\r\n\r\n")
                await writer.drain()
                return True
            writer.write(_response(200, self._answer_body(path, body)))
            await writer.drain()
            return True
        status, payload, headers = _error(kind, arg)
        writer.write(_response(status, payload, headers))
        await writer.drain()
        return True

    def _answer_body(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        model = body.get("model", "")
        usage = {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
        if path.endswith("/embeddings"):
            inputs = body.get("input")
            count = len(inputs) if isinstance(inputs, list) else 1
            return {"object": "list", "model": model, "usage": {"prompt_tokens": 3, "total_tokens": 3},
                    "data": [{"object": "embedding", "index": i, "embedding": [0.5, 0.5]} for i in range(count)]}
        if path.endswith("/completions") and not path.endswith("/chat/completions"):
            return {"id": "cmpl-faulty", "object": "text_completion", "created": 0, "model": model, "usage": usage,
                    "choices": [{"index": 0, "text": f"answer from {self.name}", "finish_reason": "stop",
                                 "logprobs": None}]}
        return {"id": "chatcmpl-faulty", "object": "chat.completion", "created": 0, "model": model, "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": f"answer from {self.name}"}}]}

    def _chunk(self, body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-faulty", "object": "chat.completion.chunk", "created": 0,
                "model": body.get("model", ""), "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def _stream(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        events = [self._chunk(body, {"role": "assistant", "content": "answer "}),
                  self._chunk(body, {"content": f"from {self.name}"}), self._chunk(body, {}, "stop")]
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**self._chunk(body, {}), "choices": [],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}})
        return events


def _error(kind: str, arg: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    if kind == "429":
        return 429, _error_body("Rate limit reached; try again later", "rate_limit_exceeded", "requests"), {
            "retry-after": arg or "1"}
    if kind == "500":
        return 500, _error_body("The server had an error while processing your request", "server_error"), {}
    if kind == "503":
        return 503, _error_body("The engine is currently overloaded", "server_error"), {}
    if kind == "context":
        return 400, _error_body(
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
            "invalid_request_error", "context_length_exceeded"), {}
    if kind == "policy":
        return 400, _error_body("Your request was rejected as a result of our safety system.",
                                "invalid_request_error", "content_policy_violation"), {}
    if kind == "400":
        return 400, _error_body("'messages' must contain at least one message", "invalid_request_error"), {}
    raise ValueError(f"unknown fault behaviour '{kind}'")


def _error_body(message: str, error_type: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def _response(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps(payload).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return (f"HTTP/1.1 {status} {_STATUS[status]}\r\ncontent-type: application/json\r\nconnection: keep-alive\r\n"
            f"{extra}content-length: {len(body)}\r\n\r\n").encode() + body


def _stream_head() -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: keep-alive\r\n"
            b"transfer-encoding: chunked\r\n\r\n")


def _chunked(data: bytes) -> bytes:
    """`data` as one chunk of a chunked body: a stream cut before its last chunk is visibly incomplete."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST rather than a FIN: what a crashed or killed upstream looks like."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, Any]] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.split(b"\r\n")
    path = lines[0].split(b" ")[1].decode() if len(lines[0].split(b" ")) > 1 else "/"
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    raw = await reader.readexactly(length) if length else b""
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    return path, body if isinstance(body, dict) else {}
