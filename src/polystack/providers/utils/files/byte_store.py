"""The seam between the Files service and where bytes live (a folder, a bucket), and upload stream guards."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol

from polystack.apis.errors import PayloadTooLargeError


class ByteStoreError(Exception):
    """The storage behind a ByteStore failed (the service reports it as a ProviderError)."""


class ByteStore(Protocol):
    """Where a files provider keeps the bytes, under keys the service chooses."""

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store the chunks under `key` as they arrive; all or nothing: on any error no trace is left."""
        ...

    async def read(self, key: str) -> AsyncIterator[bytes]:
        """Open `key` now (FileNotFoundError when missing) and return its bytes as chunks."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""
        ...

    async def close(self) -> None: ...


async def first_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The first non-empty chunk, or None when the stream has no bytes at all."""
    async for chunk in chunks:
        if chunk:
            return chunk
    return None


class SizeLimitedStream:
    """An upload's chunks (`first` then `rest`), counted in `size`; PayloadTooLargeError at the first
    byte past `max_bytes`, so the store stops writing (and cleans up) before the limit is exceeded."""

    def __init__(self, first: bytes, rest: AsyncIterator[bytes], max_bytes: int) -> None:
        self.size = 0
        self._first = first
        self._rest = rest
        self._max_bytes = max_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.size = 0
        async for chunk in self._chunks():
            self.size += len(chunk)
            if self.size > self._max_bytes:
                raise PayloadTooLargeError(
                    f"The file is larger than this server accepts ({self._max_bytes} bytes).", param="file")
            yield chunk

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield self._first
        async for chunk in self._rest:
            if chunk:
                yield chunk
