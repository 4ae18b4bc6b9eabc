"""The files contract: store uploaded bytes with their metadata, list them, stream them back, delete them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol, runtime_checkable

from polystack.apis.files.types import CreateFileRequest, DeletedFile, FileList, FileObject, FilePurpose


@runtime_checkable
class Files(Protocol):
    """Files of the caller (the current user when auth is on). Expired files are gone for every method."""

    async def create_file(self, request: CreateFileRequest, content: AsyncIterator[bytes]) -> FileObject:
        """Store `content`, consumed chunk by chunk and never held whole.

        Raises InvalidRequestError (param `file`) for an empty file and PayloadTooLargeError as soon as
        the provider's size limit is passed; either way nothing of the file is kept.
        """
        ...

    async def list_files(
        self, *, after: str | None, limit: int, order: Literal["asc", "desc"], purpose: FilePurpose | None
    ) -> FileList:
        """A page of files by creation time; `after` is the id of the last file of the previous page."""
        ...

    async def get_file(self, file_id: str) -> FileObject:
        """A file's metadata; NotFoundError (param `file_id`) when unknown, deleted or expired."""
        ...

    async def open_file_content(self, file_id: str) -> AsyncIterator[bytes]:
        """The file's bytes as chunks: `async for chunk in await files.open_file_content(id)`.

        Awaiting it checks the file exists (NotFoundError otherwise) before any byte is read, so an
        HTTP response or an ingestion job fails before it starts rather than halfway.
        """
        ...

    async def delete_file(self, file_id: str) -> DeletedFile:
        """Delete a file's bytes and metadata; NotFoundError when unknown."""
        ...
