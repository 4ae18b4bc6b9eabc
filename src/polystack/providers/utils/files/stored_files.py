"""StoredFiles: the Files API over a ByteStore (the bytes) and FilesMetadata (the rows), with the expiry sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Literal

from polystack.apis.errors import InvalidRequestError, NotFoundError, ProviderError
from polystack.apis.files.types import CreateFileRequest, DeletedFile, FileList, FileObject, FilePurpose
from polystack.core.storage.sql.api import SQLStore
from polystack.providers.utils.files.byte_store import ByteStore, ByteStoreError, SizeLimitedStream, first_chunk
from polystack.providers.utils.files.config import FilesProviderConfig
from polystack.providers.utils.files.metadata import FileRecord, FilesMetadata

logger = logging.getLogger("polystack.providers.files")

_last_micros = 0


def new_file_id() -> str:
    """`file-` and 32 hex digits: microseconds since the epoch (strictly increasing here), then randomness."""
    global _last_micros
    _last_micros = max(time.time_ns() // 1000, _last_micros + 1)
    return f"file-{_last_micros:014x}{secrets.token_hex(9)}"


def _not_found(file_id: str) -> NotFoundError:
    return NotFoundError(f"No file with id '{file_id}' exists (or it expired or was deleted).", param="file_id")


class StoredFiles:
    """Files kept as bytes in a ByteStore under their id, and as rows in the files table.

    Bytes are written first and the row last, and deleted in the reverse order, so a crash can leave
    unreferenced bytes but never a row without its bytes.
    """

    def __init__(self, config: FilesProviderConfig, blobs: ByteStore, metadata: FilesMetadata,
                 owned_store: SQLStore | None = None) -> None:
        self.provider_id = "files"  # set to the configured id by the resolver
        self.config = config
        self.blobs = blobs
        self.metadata = metadata
        self._owned_store = owned_store  # a fallback store this provider opened, and closes
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> StoredFiles:
        """Ready to serve; if it cannot start, what it holds (metadata store, byte store) is released."""
        try:
            await self.metadata.create_table()
        except BaseException:
            await self.shutdown()
            raise
        self._sweeper = asyncio.create_task(self._sweep_forever(), name=f"{self.provider_id}-expiry-sweep")
        return self

    async def create_file(self, request: CreateFileRequest, content: AsyncIterator[bytes]) -> FileObject:
        expires_in = self._expiry_seconds(request)
        first = await first_chunk(content)
        if first is None:
            raise InvalidRequestError("The uploaded file is empty.", param="file")
        file_id = new_file_id()
        stream = SizeLimitedStream(first, content, self.config.max_upload_bytes)
        with self._storage_errors():
            await self.blobs.write(file_id, stream)
        created_at = int(time.time())
        record = FileRecord(id=file_id, purpose=request.purpose.value, filename=request.filename, bytes=stream.size,
                            created_at=created_at,
                            expires_at=created_at + expires_in if expires_in is not None else None,
                            storage_key=file_id)
        try:
            await self.metadata.insert(record)
        except BaseException:
            await self._delete_bytes(record)
            raise
        return record.to_file()

    async def list_files(self, *, after: str | None, limit: int, order: Literal["asc", "desc"],
                         purpose: FilePurpose | None) -> FileList:
        """Pages past expired rows the sweep has not removed yet, so a page is full whenever it can be."""
        kept: list[FileRecord] = []
        cursor, has_more, now = after, True, time.time()
        while has_more and len(kept) < limit:
            records, has_more = await self.metadata.page(
                after=cursor, limit=limit - len(kept), order=order,
                purpose=purpose.value if purpose else None)
            kept += [record for record in records if not record.expired(now)]
            cursor = records[-1].id if records else cursor
        files = [record.to_file() for record in kept]
        return FileList(data=files, first_id=files[0].id if files else "",
                        last_id=files[-1].id if files else "", has_more=has_more)

    async def get_file(self, file_id: str) -> FileObject:
        return (await self._record(file_id)).to_file()

    async def open_file_content(self, file_id: str) -> AsyncIterator[bytes]:
        record = await self._record(file_id)
        with self._storage_errors():
            try:
                chunks = await self.blobs.read(record.storage_key)
            except FileNotFoundError:
                logger.error("file %s has a row but no bytes (%s)", file_id, record.storage_key)
                raise _not_found(file_id) from None
        return self._guarded(chunks)

    async def delete_file(self, file_id: str) -> DeletedFile:
        record = await self._record(file_id)
        await self.metadata.delete(file_id)
        await self._delete_bytes(record)
        return DeletedFile(id=file_id)

    async def sweep(self) -> int:
        """Delete the bytes and rows of expired files; returns how many went."""
        removed = 0
        while True:
            expired = await self.metadata.expired(time.time())
            for record in expired:
                if self._stopping.is_set():
                    return removed
                if await self.metadata.delete(record.id):
                    await self._delete_bytes(record)
                    removed += 1
            if len(expired) < 100:
                return removed

    async def shutdown(self) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            # let a sweep in progress finish its current file: cancelling it inside a database call
            # would leave the connection to the garbage collector
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._sweeper, timeout=10)
        await self.blobs.close()
        if self._owned_store is not None:
            await self._owned_store.close()

    def _expiry_seconds(self, request: CreateFileRequest) -> int | None:
        if request.expires_after is None:
            return self.config.batch_expiry_seconds if request.purpose == FilePurpose.batch else None
        seconds = request.expires_after.seconds
        if seconds < self.config.min_expiry_seconds:
            raise InvalidRequestError(
                f"Invalid value for 'expires_after[seconds]': {seconds} is below the minimum of "
                f"{self.config.min_expiry_seconds} seconds.", param="expires_after[seconds]")
        return seconds

    async def _record(self, file_id: str) -> FileRecord:
        record = await self.metadata.get(file_id)
        if record is None or record.expired(time.time()):
            raise _not_found(file_id)
        return record

    async def _delete_bytes(self, record: FileRecord) -> None:
        try:
            await self.blobs.delete(record.storage_key)
        except Exception:  # the row is gone; leftover bytes are only wasted space
            logger.exception("could not delete the bytes of file %s (%s)", record.id, record.storage_key)

    async def _guarded(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            with self._storage_errors():
                async for chunk in chunks:
                    yield chunk
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()  # releases the open file or HTTP body now, even when the reader stops early

    @contextlib.contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except ByteStoreError as exc:
            raise ProviderError(self.provider_id, str(exc)) from None

    async def _sweep_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                removed = await self.sweep()
                if removed:
                    logger.info("%s: deleted %d expired file(s)", self.provider_id, removed)
            except Exception:  # a failed sweep is retried at the next interval
                logger.exception("%s: the expiry sweep failed", self.provider_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.config.expiry_sweep_interval_seconds)
