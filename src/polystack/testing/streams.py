"""Response bodies for record/replay: a tee that records chunks as they pass, and a replay of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from enum import Enum

import httpx
from anyio.lowlevel import checkpoint


class ReplayStream(httpx.AsyncByteStream):
    """Yields recorded chunks one at a time, so streaming callers see them arrive incrementally."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            await checkpoint()  # let other tasks run between chunks, as a network would
            yield chunk


class _State(Enum):
    OPEN = "open"
    DONE = "done"
    FAILED = "failed"


class RecordingStream(httpx.AsyncByteStream):
    """Passes the upstream body on chunk by chunk and, once it has ended, hands all chunks to `on_complete`.

    Chunks are decoded (gzip etc. undone) because the recording keeps no content-encoding. A caller
    that stops early (e.g. at an SSE `[DONE]`) closes the stream; the rest is then drained so the
    recording is complete. If the upstream fails mid-body nothing is recorded.
    """

    def __init__(self, upstream: httpx.Response, on_complete: Callable[[list[bytes]], None]) -> None:
        self._upstream = upstream
        self._on_complete = on_complete
        self._chunks: list[bytes] = []
        self._body = upstream.aiter_bytes()
        self._state = _State.OPEN

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._body:
                self._chunks.append(chunk)
                yield chunk
        except GeneratorExit:  # the caller stopped reading: aclose() drains the rest
            raise
        except BaseException:
            self._state = _State.FAILED
            raise
        self._finish()

    async def aclose(self) -> None:
        try:
            if self._state is _State.OPEN:
                try:
                    async for chunk in self._body:
                        self._chunks.append(chunk)
                except BaseException:
                    self._state = _State.FAILED
                    raise
                self._finish()
        finally:
            await self._upstream.aclose()

    def _finish(self) -> None:
        if self._state is _State.OPEN:
            self._state = _State.DONE
            self._on_complete(self._chunks)
