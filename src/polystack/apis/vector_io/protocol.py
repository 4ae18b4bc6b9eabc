"""The vector-io contract served by the router: OpenAI vector stores plus Llama Stack's insert/query."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from polystack.apis.vector_io.types import (
    AttachFileRequest,
    CreateFileBatchRequest,
    CreateVectorStoreRequest,
    Deleted,
    InsertChunksRequest,
    QueryChunksRequest,
    QueryChunksResponse,
    SearchRequest,
    SearchResultsPage,
    UpdateFileRequest,
    UpdateVectorStoreRequest,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
)

Order = Literal["asc", "desc"]


@runtime_checkable
class VectorIO(Protocol):
    async def create_vector_store(self, request: CreateVectorStoreRequest) -> VectorStore:
        """Create a store (on the chosen or default provider) and start ingesting its files."""
        ...

    async def list_vector_stores(self, *, after: str | None, before: str | None, limit: int,
                                 order: Order) -> dict[str, Any]: ...

    async def get_vector_store(self, vector_store_id: str) -> VectorStore: ...

    async def update_vector_store(self, vector_store_id: str, request: UpdateVectorStoreRequest) -> VectorStore: ...

    async def delete_vector_store(self, vector_store_id: str) -> Deleted: ...

    async def search_vector_store(self, vector_store_id: str, request: SearchRequest) -> SearchResultsPage:
        """Vector, keyword or hybrid search with attribute filters."""
        ...

    async def attach_file(self, vector_store_id: str, request: AttachFileRequest) -> VectorStoreFile:
        """Attach an uploaded file; parsing, chunking and embedding run in the background."""
        ...

    async def list_files(self, vector_store_id: str, *, after: str | None, before: str | None, limit: int,
                         order: Order, status: str | None) -> dict[str, Any]: ...

    async def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile: ...

    async def update_file(self, vector_store_id: str, file_id: str, request: UpdateFileRequest) -> VectorStoreFile: ...

    async def delete_file(self, vector_store_id: str, file_id: str) -> Deleted:
        """Detach a file and remove its chunks from the index."""
        ...

    async def get_file_content(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        """The parsed text of an attached file, as its chunks in order."""
        ...

    async def create_file_batch(self, vector_store_id: str, request: CreateFileBatchRequest) -> VectorStoreFileBatch:
        ...

    async def get_file_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch: ...

    async def list_file_batch_files(self, vector_store_id: str, batch_id: str, *, after: str | None,
                                    before: str | None, limit: int, order: Order,
                                    status: str | None) -> dict[str, Any]: ...

    async def cancel_file_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch: ...

    async def insert_chunks(self, request: InsertChunksRequest) -> None:
        """Llama Stack: insert pre-chunked content, embedding it unless embeddings are given."""
        ...

    async def query_chunks(self, request: QueryChunksRequest) -> QueryChunksResponse: ...
