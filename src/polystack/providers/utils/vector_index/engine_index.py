"""A VectorIndex over a vector database (Qdrant, Chroma, Milvus), with a SQLite FTS5 sidecar for BM25.

The engine holds the truth: one collection per store with each chunk, its vector and its attributes;
vector queries and filters run there (filters translated by the engine from `typed_filters`). None
of these engines ranks text by BM25 at a usable cost, so keyword queries rank in the FTS5 sidecar and
then fetch the hits from the engine, which also applies the filter. Writes to one store take turns
(an asyncio lock), so the sidecar and the engine see them in the same order; a query running during
a write may see part of it. When the engine cannot state a filter (`Untranslatable`), the index reads
the store's attributes, evaluates the filter with the reference `matches()`, and restricts by id.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import numpy as np

from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError, ProviderError
from polystack.apis.vector_io.filters import matches
from polystack.apis.vector_io.index import AttributeValue, Chunk, Filter, ScoredChunk
from polystack.providers.utils.vector_index.keyword import fts_match
from polystack.providers.utils.vector_index.keyword_sidecar import KeywordSidecar
from polystack.providers.utils.vector_index.typed_filters import Condition, Untranslatable, plan
from polystack.providers.utils.vector_index.unit_vectors import unit_rows

T = TypeVar("T")
# Names every engine accepts (Milvus: [A-Za-z_][A-Za-z0-9_]*; Chroma: ends alphanumeric); others go hex.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]{0,150}[A-Za-z0-9]")
_ENCODED = "x_"


class VectorEngine(Protocol):
    """One vector database, a collection per store. Chunk ids are unique per store; vectors are unit-length.

    `condition` is a typed filter (None: every chunk); `only_ids` restricts to those chunk ids.
    Methods raise NotFoundError for a store without a collection.
    """

    async def stores(self) -> dict[str, int]:
        """Every store this engine holds and its dimension."""
        ...

    async def create_store(self, store_id: str, dimension: int) -> None: ...

    async def delete_store(self, store_id: str) -> None: ...

    async def upsert(self, store_id: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace by chunk_id."""
        ...

    async def existing(self, store_id: str, chunk_ids: Sequence[str] = (), file_id: str | None = None) -> list[str]:
        """Which of `chunk_ids` and of the chunks of `file_id` the store holds."""
        ...

    async def delete(self, store_id: str, chunk_ids: Sequence[str]) -> None: ...

    async def set_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None: ...

    async def search(self, store_id: str, vector: np.ndarray, k: int, condition: Condition | None,
                     only_ids: Sequence[str] | None) -> list[ScoredChunk]:
        """The k nearest chunks by cosine similarity, best first, never fewer than k that pass."""
        ...

    async def fetch(self, store_id: str, chunk_ids: Sequence[str], condition: Condition | None) -> dict[str, Chunk]:
        """The chunks among `chunk_ids` that exist and pass `condition`."""
        ...

    def scan(self, store_id: str, with_content: bool) -> AsyncIterator[list[Chunk]]:
        """Every chunk of the store, in batches (content left empty unless asked for)."""
        ...

    async def count(self, store_id: str) -> int: ...

    async def close(self) -> None: ...


def collection_name(prefix: str, store_id: str) -> str:
    """A collection name valid in every engine, from which `store_of` gets the store id back."""
    if _PLAIN_NAME.fullmatch(store_id) and not store_id.startswith(_ENCODED):
        return prefix + store_id
    return prefix + _ENCODED + store_id.encode().hex()


def store_of(prefix: str, name: str) -> str | None:
    """The store id of one of our collections, None for a collection that is not ours."""
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    if rest.startswith(_ENCODED):
        try:
            return bytes.fromhex(rest[len(_ENCODED):]).decode()
        except ValueError:
            return None
    return rest or None


class EngineVectorIndex:
    """Implements polystack.apis.vector_io.index.VectorIndex on a VectorEngine and a KeywordSidecar."""

    def __init__(self, provider_id: str, engine: VectorEngine, sidecar: KeywordSidecar) -> None:
        self.provider_id = provider_id
        self._engine = engine
        self._sidecar = sidecar
        self._sidecar_thread = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"keywords-{provider_id}")
        self._dimensions: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._catalogue = asyncio.Lock()
        self._closed = False

    async def open(self) -> EngineVectorIndex:
        """Learn the engine's stores; rebuild the sidecar's index of any store whose count differs."""
        try:
            indexed = await self._keywords(self._sidecar.open)
            self._dimensions = await self._engine.stores()
            for store_id in set(indexed) - set(self._dimensions):
                await self._keywords(self._sidecar.delete_store, store_id)
            for store_id, dimension in self._dimensions.items():
                if indexed.get(store_id) != await self._engine.count(store_id):
                    await self._rebuild_keywords(store_id, dimension)
        except BaseException:
            await self.shutdown()
            raise
        return self

    async def _rebuild_keywords(self, store_id: str, dimension: int) -> None:
        await self._keywords(self._sidecar.delete_store, store_id)
        await self._keywords(self._sidecar.create_store, store_id, dimension)
        async for chunks in self._engine.scan(store_id, with_content=True):
            await self._keywords(self._sidecar.put, store_id, [(chunk.chunk_id, chunk.content) for chunk in chunks])

    async def _keywords(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._sidecar_thread, fn, *args)
        except self._sidecar_errors() as exc:
            raise ProviderError(self.provider_id, f"keyword index {self._sidecar.path}: {exc}") from exc

    @staticmethod
    def _sidecar_errors() -> type[Exception]:
        from polystack.providers.utils.vector_index.database import sqlite_module

        return sqlite_module().DatabaseError  # type: ignore[no-any-return]

    def _dimension(self, store_id: str) -> int:
        if self._closed:
            raise ProviderError(self.provider_id, "the vector index is shut down")
        dimension = self._dimensions.get(store_id)
        if dimension is None:
            raise NotFoundError(f"Vector store '{store_id}' has no index in provider '{self.provider_id}'.",
                                param="vector_store_id")
        return dimension

    def _lock(self, store_id: str) -> asyncio.Lock:
        return self._locks.setdefault(store_id, asyncio.Lock())

    async def create_store(self, store_id: str, dimension: int) -> None:
        if dimension < 1:
            raise InvalidRequestError(f"dimension must be positive, not {dimension}", param="dimension")
        async with self._catalogue:
            existing = self._dimensions.get(store_id)
            if existing is not None and existing != dimension:
                raise ConflictError(f"Vector store '{store_id}' exists with dimension {existing}, not {dimension}.")
            if existing is None:
                await self._keywords(self._sidecar.create_store, store_id, dimension)
                await self._engine.create_store(store_id, dimension)
                self._dimensions[store_id] = dimension

    async def delete_store(self, store_id: str) -> None:
        """Idempotent: deleting an unknown store does nothing."""
        async with self._catalogue, self._lock(store_id):
            if self._dimensions.pop(store_id, None) is not None:
                await self._engine.delete_store(store_id)
                await self._keywords(self._sidecar.delete_store, store_id)

    async def add_chunks(self, store_id: str, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        dimension = self._dimension(store_id)
        if len(chunks) != len(embeddings):
            raise InvalidRequestError(f"{len(chunks)} chunks but {len(embeddings)} embeddings", param="embeddings")
        if not chunks:
            return
        # Within one call the last chunk of an id wins, as if they had been added one after another.
        last = sorted({chunk.chunk_id: index for index, chunk in enumerate(chunks)}.values())
        chunks = [chunks[index] for index in last]
        vectors = _store_unit_rows([embeddings[index] for index in last], dimension, store_id)
        async with self._lock(store_id):
            self._dimension(store_id)
            await self._keywords(self._sidecar.put, store_id, [(chunk.chunk_id, chunk.content) for chunk in chunks])
            await self._engine.upsert(store_id, chunks, vectors)

    async def delete_chunks(self, store_id: str, *, file_id: str | None = None,
                            chunk_ids: list[str] | None = None) -> int:
        """Removes the file's chunks and the listed ones (either or both); returns how many were removed."""
        self._dimension(store_id)
        if file_id is None and chunk_ids is None:
            raise InvalidRequestError("delete_chunks needs a file_id or chunk_ids", param="file_id")
        async with self._lock(store_id):
            self._dimension(store_id)
            found = await self._engine.existing(store_id, chunk_ids or [], file_id)
            if found:
                await self._engine.delete(store_id, found)
            await self._keywords(self._sidecar.remove, store_id, sorted(set(found) | set(chunk_ids or [])))
            return len(found)

    async def update_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None:
        self._dimension(store_id)
        async with self._lock(store_id):
            self._dimension(store_id)
            await self._engine.set_attributes(store_id, file_id, dict(attributes))

    async def query_vector(self, store_id: str, embedding: list[float], k: int,
                           filters: Filter | None = None) -> list[ScoredChunk]:
        query = _store_unit_rows([embedding], self._dimension(store_id), store_id)[0]
        condition = plan(filters)
        if k < 1 or condition is False:
            return []
        if condition is True:
            return await self._engine.search(store_id, query, k, None, None)
        try:
            return await self._engine.search(store_id, query, k, condition, None)
        except Untranslatable:
            passing = await self._passing_ids(store_id, filters)
            return await self._engine.search(store_id, query, k, None, passing) if passing else []

    async def _passing_ids(self, store_id: str, filters: Filter | None) -> list[str]:
        """The reference evaluated over every chunk's attributes: the way out when the engine can't filter."""
        return [chunk.chunk_id async for batch in self._engine.scan(store_id, with_content=False)
                for chunk in batch if matches(chunk.attributes, filters)]

    async def query_keyword(self, store_id: str, query: str, k: int,
                            filters: Filter | None = None) -> list[ScoredChunk]:
        self._dimension(store_id)
        match, planned = fts_match(query), plan(filters)
        if match is None or k < 1 or planned is False:
            return []
        condition = None if planned is True else planned
        passing: set[str] | None = None  # set when the engine cannot filter: the ids that pass
        found: list[ScoredChunk] = []
        seen, limit = 0, 2 * k + 8
        # The sidecar ranks; the engine says which hits still exist and pass. Widen until k are found.
        while True:
            hits = (await self._keywords(self._sidecar.ranked, store_id, match, limit))[seen:]
            try:
                chunks = await self._engine.fetch(
                    store_id, [chunk_id for chunk_id, _ in hits if passing is None or chunk_id in passing], condition)
            except Untranslatable:
                passing, condition = set(await self._passing_ids(store_id, filters)), None
                continue
            found += [ScoredChunk(chunk=chunks[chunk_id], score=score)
                      for chunk_id, score in hits if chunk_id in chunks]
            seen += len(hits)
            if len(found) >= k or seen < limit:
                return found[:k]
            limit *= 4

    async def shutdown(self) -> None:
        """Idempotent. Every write already returned durable, so there is nothing to flush."""
        if self._closed:
            return
        self._closed = True
        await self._engine.close()
        await asyncio.to_thread(self._sidecar_thread.shutdown, wait=True)
        await asyncio.to_thread(self._sidecar.close)


def _store_unit_rows(embeddings: list[list[float]], dimension: int, store_id: str) -> np.ndarray:
    """`unit_rows`, which must also have the store's dimension."""
    vectors = unit_rows(embeddings)
    if vectors.shape[1] != dimension:
        raise InvalidRequestError(f"Vector store '{store_id}' holds {dimension}-dimensional vectors, "
                                  f"not {vectors.shape[1]}.", param="embedding")
    return vectors
