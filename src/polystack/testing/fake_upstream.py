"""A fake OpenAI-compatible upstream on loopback for connection tests: slow requests, stale keep-alives.

Raw asyncio rather than a web framework, so a test sees exactly what happens to each connection:
- model "slow": never answered; when the client closes that connection, the request counts as abandoned.
- model "stalled": a stream that sends one chunk, then nothing; when the client closes that connection,
  the request counts as abandoned (a caller leaving mid-stream must close its upstream request too).
- model "drop": the connection is closed unanswered, whether new or reused.
- any other model: a chat completion at once, keeping the connection alive.
- with `close_reused=True`, a connection that already served a request is closed as soon as the next
  request arrives on it, unanswered: a pooled connection the upstream had already closed.
"""

from __future__ import annotations

import asyncio
import json


class FakeUpstream:
    def __init__(self, *, close_reused: bool = False) -> None:
        self.close_reused = close_reused
        self.received = 0  # requests read, answered or not
        self.slow_started = 0
        self.abandoned = 0  # slow requests whose client went away
        self.connections = 0
        self.last_headers: dict[str, str] = {}  # lower-cased names, of the last request read
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> FakeUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def wait_for(self, what: str, count: int, timeout: float = 5.0) -> bool:  # noqa: ASYNC109 - a test helper's deadline
        """Whether counter `what` reaches `count` within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while getattr(self, what) < count:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        served = 0
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.last_headers, body = request
                self.received += 1
                if self.close_reused and served:
                    return  # closed unanswered: the client's pooled connection was stale
                model = json.loads(body or b"{}").get("model", "")
                if model == "drop":
                    return
                if model in ("slow", "stalled"):
                    self.slow_started += 1
                    if model == "stalled":
                        writer.write(_first_chunk(model))
                        await writer.drain()
                    await reader.read()  # until the client closes the connection
                    self.abandoned += 1
                    return
                writer.write(_completion(model))
                await writer.drain()
                served += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            self._handlers.discard(task)


async def _read_request(reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.strip().lower().decode()] = value.strip().decode()
    length = int(headers.get("content-length", 0))
    return headers, (await reader.readexactly(length) if length else b"")


def _completion(model: str) -> bytes:
    body = json.dumps({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
    }).encode()
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _first_chunk(model: str) -> bytes:
    chunk = json.dumps({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": None, "delta": {"role": "assistant", "content": "o"}}],
    }).encode()
    event = b"data: " + chunk + b"\n\n"
    return (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(event) + event + b"\r\n")


CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def chat(model: str) -> dict[str, object]:
    """A minimal chat request body for `model`."""
    return {"model": model, **CHAT}

