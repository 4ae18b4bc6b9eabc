"""Llama Stack's vector-io chunks: how an inserted chunk is indexed, and how a query hands one back."""

from __future__ import annotations

import uuid

from polystack.apis.vector_io.index import Chunk
from polystack.apis.vector_io.types import ChunkMetadata, EmbeddedChunk, InsertChunk, VectorStore

_CHUNK_METADATA = "chunk_metadata"  # where an inserted chunk's chunk_metadata is kept in the index's metadata


def indexed_chunk(chunk: InsertChunk) -> Chunk:
    """A vector-io chunk as indexed: its document is its file, and its source (or document) its filename."""
    meta = chunk.chunk_metadata or ChunkMetadata()
    chunk_id = chunk.chunk_id or meta.chunk_id or uuid.uuid4().hex
    document_id = chunk.document_id
    filename = chunk.metadata.get("filename") or meta.source or document_id or ""
    metadata = dict(chunk.metadata)
    if chunk.chunk_metadata is not None:
        metadata[_CHUNK_METADATA] = chunk.chunk_metadata.model_dump(exclude_none=True)
    return Chunk(chunk_id=chunk_id, content=chunk.content, file_id=document_id, filename=str(filename),
                 metadata=metadata,
                 attributes={k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float | bool)})


def embedded_chunk(chunk: Chunk, store: VectorStore) -> EmbeddedChunk:
    """A query result in Llama Stack's shape: chunk_metadata from what the index kept, the store's model."""
    metadata = dict(chunk.metadata)
    given = metadata.pop(_CHUNK_METADATA, None) or {}
    chunk_metadata = ChunkMetadata.model_validate({
        "chunk_id": chunk.chunk_id, "document_id": chunk.file_id, "source": chunk.filename or None,
        "content_token_count": metadata.get("tokens"), **given,
        "chunk_embedding_model": store.embedding_model, "chunk_embedding_dimension": store.embedding_dimension})
    if chunk.file_id and "document_id" not in metadata:
        metadata["document_id"] = chunk.file_id
    return EmbeddedChunk(chunk_id=chunk.chunk_id, content=chunk.content, metadata=metadata,
                         chunk_metadata=chunk_metadata, embedding_model=store.embedding_model or "",
                         embedding_dimension=store.embedding_dimension or 0)
