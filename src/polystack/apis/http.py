"""Small pieces every `routes.py` uses: finding the implementation of an API, and SSE responses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.errors import PolystackError, ServiceUnavailableError
from polystack.apis.events import StreamEvent, error_event

logger = logging.getLogger("polystack.server")


def impl_of(api: Api | str) -> Callable[[Request], Awaitable[Any]]:
    """A FastAPI dependency returning the object that serves `api` in the running stack."""

    async def dependency(request: Request) -> Any:  # async: FastAPI runs sync dependencies in a thread
        return request.app.state.impls[api]

    dependency.__name__ = f"impl_of_{api}"
    return dependency


class DirectCall:
    """What a route marked with `direct` takes: its body model and the API whose implementation it calls."""

    __slots__ = ("body", "api")

    def __init__(self, body: type[BaseModel], api: Api | str) -> None:
        self.body = body
        self.api = api


def direct(body: type[BaseModel], api: Api | str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a hot route `async def route(body: <body>, impl = Depends(impl_of(api)))` so the server may call
    it straight, with the body validated from its bytes by pydantic (core/server/direct_routes.py), skipping
    FastAPI's dependency solving; its signature stays as it is and documents it in the OpenAPI schema."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.direct_call = DirectCall(body, api)  # type: ignore[attr-defined]
        return endpoint

    return mark


def dump_json(value: Any) -> bytes:
    """Serialise a pydantic model (every field, nulls included, as OpenAI does) or plain data.

    A model is written by its own pydantic serialiser straight to bytes (model_dump_json's bytes): about
    half the cost of model_dump plus orjson, which a stream pays on every chunk.
    """
    if isinstance(value, BaseModel):
        return value.__pydantic_serializer__.to_json(value)
    return orjson.dumps(value, default=_model_default)


def _model_default(value: Any) -> Any:
    """orjson's fallback: pydantic models nested in plain data (e.g. a page dict holding objects)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class JSONBody(Response):
    """A JSON response that serialises pydantic models with orjson (FastAPI's default is slower)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dump_json(content)


_NOTHING: Any = object()
_ENDING: Any = object()


class _OpenStream:
    """One SSE stream being written: whether it waits on its provider, and whether it must end now."""

    __slots__ = ("task", "pulling", "ending")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.pulling = False
        self.ending = False


_OPEN_STREAMS: set[_OpenStream] = set()


def end_open_streams() -> int:
    """Make every open SSE stream end now with a 503 error event (a graceful shutdown); returns how many.

    A stream waiting on its provider is interrupted; one busy sending ends before it pulls its next chunk.
    """
    for stream in _OPEN_STREAMS:
        stream.ending = True
        if stream.pulling and stream.task is not None:
            stream.task.cancel()
    return len(_OPEN_STREAMS)


_SHUTTING_DOWN = ServiceUnavailableError("the server is shutting down; retry the request")
_INTERNAL = PolystackError("internal error while streaming")


class _DataLines:
    """Chat completions' framing: `data: {chunk}` lines, an error as `data: {"error": ...}`, then `[DONE]`."""

    __slots__ = ("end",)

    def __init__(self, done_marker: bool) -> None:
        self.end = b"data: [DONE]\n\n" if done_marker else b""

    def frame(self, chunk: Any) -> bytes:
        return b"data: " + dump_json(chunk) + b"\n\n"

    def error(self, exc: PolystackError) -> bytes:
        return b"data: " + orjson.dumps(exc.to_body()) + b"\n\n"


class _NamedEvents:
    """Named events (StreamEvent): `event:` + `data:`, every event numbered; an error is an `error` event.

    An event that already has a sequence_number (replayed from an event log) keeps it; a live one gets the
    next number, so numbers stay consecutive whichever the source.
    """

    __slots__ = ("next_number",)
    end = b""

    def __init__(self) -> None:
        self.next_number = 0

    def frame(self, event: StreamEvent) -> bytes:
        if event.sequence_number is None:
            event = event.numbered(self.next_number)
        self.next_number = event.sequence_number + 1  # type: ignore[operator]
        return event.to_sse()

    def error(self, exc: PolystackError) -> bytes:
        return self.frame(error_event(exc))


_Framing = _DataLines | _NamedEvents


async def _next_chunk(stream: _OpenStream, rest: AsyncIterator[Any]) -> Any:
    """The next chunk, _NOTHING at the end, or _ENDING when a shutdown interrupted the wait."""
    if stream.ending:
        return _ENDING
    stream.pulling = True
    try:
        return await rest.__anext__()
    except StopAsyncIteration:
        return _NOTHING
    except asyncio.CancelledError:
        if not stream.ending or stream.task is None:
            raise
        stream.task.uncancel()  # our own cancel (end_open_streams), not the request's: finish the stream
        return _ENDING
    finally:
        stream.pulling = False


async def _sse_events(first: Any, rest: AsyncIterator[Any], framing: _Framing) -> AsyncIterator[bytes]:
    """`first` (already pulled, see respond) then the rest, as SSE events; an error ends it with an error event.

    The one SSE writer: `framing` decides only how a chunk, an error and the end look on the wire.
    """
    stream = _OpenStream(asyncio.current_task())
    _OPEN_STREAMS.add(stream)
    try:
        if first is not _NOTHING:
            yield framing.frame(first)
            while (chunk := await _next_chunk(stream, rest)) is not _NOTHING:
                if chunk is _ENDING:
                    yield framing.error(_SHUTTING_DOWN)
                    return
                yield framing.frame(chunk)
    except PolystackError as exc:
        yield framing.error(exc)
        return
    except Exception:  # a stream must end with an error event, never a broken socket
        logger.exception("stream failed")
        yield framing.error(_INTERNAL)
        return
    finally:
        _OPEN_STREAMS.discard(stream)
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()
    if framing.end:
        yield framing.end


class EventStreamResponse(Response):
    """Server-sent events from an async iterator of frames, written from the request's own task.

    Starlette's StreamingResponse runs each stream in a task group with a second task listening for the
    client's disconnect (~5% of a streamed request's CPU in bench/ profiles). Here no task is added: the
    server's one disconnect watcher (core/server/disconnect.py) cancels the request when its client leaves,
    which ends the stream and closes its upstream as the task group's cancellation did.
    """

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncIterator[bytes]) -> None:
        self.body_iterator = frames  # StreamingResponse's name, which callers and tests read
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        frames = self.body_iterator
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            aclose = getattr(frames, "aclose", None)
            if aclose is not None:
                await aclose()


async def respond(result: Any, *, done_marker: bool = True) -> Response:
    """Turn an API result into a response: SSE for async iterators, JSON otherwise.

    A stream of StreamEvents is written as named events (OpenAI Responses' shape); any other stream as
    `data:` lines ending with `data: [DONE]` unless `done_marker` is False (chat and text completions).
    """
    if hasattr(result, "__aiter__"):
        # The first chunk is pulled before answering, so an early error is a plain 4xx/5xx, not a stream.
        rest = result.__aiter__()
        try:
            first = await rest.__anext__()
        except StopAsyncIteration:
            first = _NOTHING
        framing: _Framing = _NamedEvents() if isinstance(first, StreamEvent) else _DataLines(done_marker)
        return EventStreamResponse(_sse_events(first, rest, framing))
    return JSONBody(result)
