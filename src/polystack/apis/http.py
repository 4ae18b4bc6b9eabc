"""Small pieces every `routes.py` uses: finding the implementation of an API, and SSE responses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from polystack.apis.datatypes import Api
from polystack.apis.errors import PolystackError

logger = logging.getLogger("polystack.server")


def impl_of(api: Api) -> Callable[[Request], Awaitable[Any]]:
    """A FastAPI dependency returning the object that serves `api` in the running stack."""

    async def dependency(request: Request) -> Any:  # async: FastAPI runs sync dependencies in a thread
        return request.app.state.impls[api]

    dependency.__name__ = f"impl_of_{api.value}"
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


async def _sse_events(first: Any, rest: AsyncIterator[Any], done_marker: bool) -> AsyncIterator[bytes]:
    """`first` (already pulled, see respond) then the rest, as SSE events; an error ends it with an error event."""
    try:
        if first is not _NOTHING:
            yield b"data: " + dump_json(first) + b"\n\n"
            async for chunk in rest:
                yield b"data: " + dump_json(chunk) + b"\n\n"
    except PolystackError as exc:
        yield b"data: " + orjson.dumps(exc.to_body()) + b"\n\n"
        return
    except Exception:  # noqa: BLE001 - a stream must end with an error event, never a broken socket
        logger.exception("stream failed")
        body = {"error": {"message": "internal error while streaming", "type": "server_error",
                          "param": None, "code": None}}
        yield b"data: " + orjson.dumps(body) + b"\n\n"
        return
    finally:
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
