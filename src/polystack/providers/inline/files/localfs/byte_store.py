"""DiskByteStore: each file's bytes in one file of a folder, written under a temporary name then renamed."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import IO

logger = logging.getLogger("polystack.providers.files")

READ_CHUNK_BYTES = 1024 * 1024
STALE_TEMP_SECONDS = 24 * 3600
TEMP_DIR = ".uploading"


class DiskByteStore:
    """Keys are file names in `root`; an upload in progress lives in `root/.uploading` until it is complete.

    The final rename is atomic, so a reader (or a crash) sees the whole file or none of it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp = root / TEMP_DIR
        self.temp.mkdir(parents=True, exist_ok=True)
        self._remove_stale_uploads()

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        final = self._path(key)
        partial = self.temp / f"{key}.{secrets.token_hex(4)}"
        handle: IO[bytes] = await asyncio.to_thread(open, partial, "xb")
        try:
            try:
                async for chunk in chunks:
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(_flush, handle)
            finally:
                await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle: IO[bytes] = await asyncio.to_thread(open, self._path(key), "rb")
        return _chunks(handle)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def close(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def _remove_stale_uploads(self) -> None:
        """Uploads a crash interrupted; recent ones may belong to another process still writing them."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        for path in self.temp.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                logger.warning("could not remove the stale upload %s", path)


def _flush(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())  # the bytes are on disk before the row that announces them


async def _chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, READ_CHUNK_BYTES):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)
