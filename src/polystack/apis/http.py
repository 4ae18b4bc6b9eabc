"""Small pieces every `routes.py` uses: finding the implementation of an API, and SSE responses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from polystack.apis.datatypes import Api
from polystack.apis.errors import PolystackError, ServiceUnavailableError

logger = logging.getLogger("polystack.server")


def impl_of(api: Api | str) -> Callable[[Request], Awaitable[Any]]:
    """A FastAPI dependency returning the object that serves `api` in the running stack."""

    async def dependency(request: Request) -> Any:  # async: FastAPI runs sync dependencies in a thread
        return request.app.state.impls[api]

    dependency.__name__ = f"impl_of_{api}"
    return dependency


def dump_json(value: Any) -> bytes:
    """Serialise a pydantic model (every field, nulls included, as OpenAI does) or plain data."""
    if isinstance(value, BaseModel):
        return orjson.dumps(value.model_dump(mode="json"))
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


def _event(body: Any) -> bytes:
    return b"data: " + orjson.dumps(body) + b"\n\n"


_SHUTTING_DOWN = ServiceUnavailableError("the server is shutting down; retry the request")


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


async def _sse_events(first: Any, rest: AsyncIterator[Any], done_marker: bool) -> AsyncIterator[bytes]:
    """`first` (already pulled, see respond) then the rest, as SSE events; an error ends it with an error event."""
    stream = _OpenStream(asyncio.current_task())
    _OPEN_STREAMS.add(stream)
    try:
        if first is not _NOTHING:
            yield b"data: " + dump_json(first) + b"\n\n"
            while (chunk := await _next_chunk(stream, rest)) is not _NOTHING:
                if chunk is _ENDING:
                    yield _event(_SHUTTING_DOWN.to_body())
                    return
                yield b"data: " + dump_json(chunk) + b"\n\n"
    except PolystackError as exc:
        yield _event(exc.to_body())
        return
    except Exception:  # noqa: BLE001 - a stream must end with an error event, never a broken socket
        logger.exception("stream failed")
        yield _event({"error": {"message": "internal error while streaming", "type": "server_error",
                                "param": None, "code": None}})
        return
    finally:
        _OPEN_STREAMS.discard(stream)
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()
    if done_marker:
        yield b"data: [DONE]\n\n"


async def respond(result: Any, *, done_marker: bool = True) -> Response:
    """Turn an API result into a response: SSE for async iterators, JSON otherwise."""
    if hasattr(result, "__aiter__"):
        # The first chunk is pulled before answering, so an early error is a plain 4xx/5xx, not a stream.
        rest = result.__aiter__()
        try:
            first = await rest.__anext__()
        except StopAsyncIteration:
            first = _NOTHING
        return StreamingResponse(
            _sse_events(first, rest, done_marker),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return JSONBody(result)
