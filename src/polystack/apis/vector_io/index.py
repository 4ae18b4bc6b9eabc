"""The contract of a vector index provider (sqlite-vec, faiss, pgvector, qdrant, chromadb, milvus).

The vector-io router owns vector stores, files, chunking and embedding; a provider only keeps
chunks with their embeddings per store and answers nearest-neighbour and keyword queries.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

AttributeValue = str | int | float | bool


class ComparisonFilter(BaseModel):
    """OpenAI's comparison filter on a chunk attribute."""

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str
    value: AttributeValue | list[AttributeValue]


class CompoundFilter(BaseModel):
    type: Literal["and", "or"]
    filters: list[ComparisonFilter | CompoundFilter]


Filter = ComparisonFilter | CompoundFilter


class Chunk(BaseModel):
    """A piece of a document as indexed: its text, where it came from, and the file's attributes."""

    chunk_id: str
    content: str
    file_id: str | None = None
    filename: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form (e.g. chunk position, tokens).")


class ScoredChunk(BaseModel):
    chunk: Chunk
    score: float = Field(description="Higher is better: cosine similarity for vectors, BM25 for keywords.")


@runtime_checkable
class VectorIndex(Protocol):
    """Per-store chunk indexes. `store_id` is the vector store's id; vectors are L2-normalised floats.

    Writes are durable when they return on persistent providers; a store's chunks survive restarts.
    """

    provider_id: str

    async def create_store(self, store_id: str, dimension: int) -> None:
        """Prepare an empty index (idempotent)."""
        ...

    async def delete_store(self, store_id: str) -> None:
        ...

    async def add_chunks(self, store_id: str, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        """Insert or replace chunks (by chunk_id) with their embeddings."""
        ...

    async def delete_chunks(self, store_id: str, *, file_id: str | None = None,
                            chunk_ids: list[str] | None = None) -> int:
        """Remove a file's chunks or the given chunks; returns how many were removed."""
        ...

    async def update_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None:
        """Replace the attributes of every chunk of a file (filters use the new ones at once)."""
        ...

    async def query_vector(self, store_id: str, embedding: list[float], k: int,
                           filters: Filter | None = None) -> list[ScoredChunk]:
        """The k chunks most similar to `embedding` that match `filters`, best first."""
        ...

    async def query_keyword(self, store_id: str, query: str, k: int,
                            filters: Filter | None = None) -> list[ScoredChunk]:
        """The k chunks with the best BM25 score for `query` that match `filters`, best first."""
        ...

    async def shutdown(self) -> None:
        ...
