"""Vector stores as collections of qdrant-client's local mode: one point per chunk, cosine distance.

Local mode is not thread-safe and blocks, so every call runs on one worker thread of its own. A
point's id is a UUID derived from the chunk id (Qdrant ids are integers or UUIDs); its payload holds
the chunk's fields and, flat, each attribute as `attr:<name>` (top-level keys filter ~4x faster than
nested ones in local mode, which evaluates filters point by point in Python). Vector queries filter
in Qdrant; the few hits of a keyword query are fetched by id and checked with the same typed semantics.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models

from polystack.apis.errors import NotFoundError, ProviderError
from polystack.apis.vector_io.index import AttributeValue, Chunk, ScoredChunk
from polystack.providers.inline.vector_io.qdrant.qdrant_filters import ATTRIBUTE_PREFIX, qdrant_filter
from polystack.providers.utils.vector_index.engine_index import collection_name, store_of
from polystack.providers.utils.vector_index.typed_filters import Condition, evaluate

T = TypeVar("T")
PAGE = 1000
_POINT_IDS = uuid.UUID("6f1c4b8e-2d3a-4f5b-9c7d-0e1f2a3b4c5d")  # namespace of the chunk-id UUIDs
_CHUNK_FIELDS = ("chunk_id", "content", "file_id", "filename", "metadata")


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(_POINT_IDS, chunk_id))


class QdrantEngine:
    """Implements VectorEngine on a QdrantClient(path=...)."""

    def __init__(self, client: QdrantClient, prefix: str, thread: ThreadPoolExecutor) -> None:
        self._client = client
        self._prefix = prefix
        self._thread = thread

    @classmethod
    async def open(cls, path: str, prefix: str) -> QdrantEngine:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdrant-local")
        try:
            client = await asyncio.get_running_loop().run_in_executor(thread, lambda: QdrantClient(path=path))
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(client, prefix, thread)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            return fn(*args, **kwargs)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, call)
        except ValueError as exc:  # local mode's way of saying a collection is missing
            if "not found" in str(exc).lower():
                raise NotFoundError(f"Vector store has no Qdrant collection: {exc}", param="vector_store_id") from exc
            raise ProviderError("qdrant", str(exc)) from exc

    def _name(self, store_id: str) -> str:
        return collection_name(self._prefix, store_id)

    async def stores(self) -> dict[str, int]:
        def read() -> dict[str, int]:
            found = {}
            for collection in self._client.get_collections().collections:
                store_id = store_of(self._prefix, collection.name)
                if store_id is not None:
                    vectors = self._client.get_collection(collection.name).config.params.vectors
                    assert isinstance(vectors, models.VectorParams)
                    found[store_id] = vectors.size
            return found

        return await self._run(read)

    async def create_store(self, store_id: str, dimension: int) -> None:
        params = models.VectorParams(size=dimension, distance=models.Distance.COSINE)
        await self._run(self._client.create_collection, self._name(store_id), vectors_config=params)

    async def delete_store(self, store_id: str) -> None:
        await self._run(self._client.delete_collection, self._name(store_id))

    async def upsert(self, store_id: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        points = [models.PointStruct(id=point_id(chunk.chunk_id), vector=vector, payload=_payload(chunk))
                  for chunk, vector in zip(chunks, vectors.tolist(), strict=True)]
        await self._run(self._client.upsert, self._name(store_id), points=points, wait=True)

    async def existing(self, store_id: str, chunk_ids: Sequence[str] = (), file_id: str | None = None) -> list[str]:
        name = self._name(store_id)
        found: set[str] = set()
        if chunk_ids:
            records = await self._run(self._client.retrieve, name, [point_id(c) for c in chunk_ids],
                                      with_payload=["chunk_id"])
            found.update(record.payload["chunk_id"] for record in records if record.payload)
        if file_id is not None:
            found.update(chunk.chunk_id for chunk in await self._file_chunks(store_id, file_id))
        return sorted(found)

    async def _file_chunks(self, store_id: str, file_id: str) -> list[Chunk]:
        of_file = models.Filter(must=[models.FieldCondition(key="file_id", match=models.MatchValue(value=file_id))])
        return [chunk async for page in self._pages(store_id, of_file) for chunk in page]

    async def delete(self, store_id: str, chunk_ids: Sequence[str]) -> None:
        selector = models.PointIdsList(points=[point_id(chunk_id) for chunk_id in chunk_ids])
        await self._run(self._client.delete, self._name(store_id), points_selector=selector, wait=True)

    async def set_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None:
        """Rewrites each payload of the file whole, so that attributes absent from `attributes` go away."""
        operations = [
            models.OverwritePayloadOperation(overwrite_payload=models.SetPayload(
                payload=_payload(chunk.model_copy(update={"attributes": attributes})),
                points=[point_id(chunk.chunk_id)]))
            for chunk in await self._file_chunks(store_id, file_id)
        ]
        if operations:
            await self._run(self._client.batch_update_points, self._name(store_id), operations, wait=True)

    async def search(self, store_id: str, vector: np.ndarray, k: int, condition: Condition | None,
                     only_ids: Sequence[str] | None) -> list[ScoredChunk]:
        query_filter = _restricted(condition, only_ids)
        response = await self._run(self._client.query_points, self._name(store_id), query=vector.tolist(), limit=k,
                                   query_filter=query_filter, with_payload=True)
        return [ScoredChunk(chunk=_chunk(point.payload or {}), score=point.score) for point in response.points]

    async def fetch(self, store_id: str, chunk_ids: Sequence[str], condition: Condition | None) -> dict[str, Chunk]:
        """By id, then the condition checked here: a Qdrant filter would walk every point in Python to do the same."""
        if not chunk_ids:
            return {}
        records = await self._run(self._client.retrieve, self._name(store_id), [point_id(c) for c in chunk_ids],
                                  with_payload=True)
        chunks = (_chunk(record.payload or {}) for record in records)
        return {chunk.chunk_id: chunk for chunk in chunks if condition is None or evaluate(condition, chunk.attributes)}

    def scan(self, store_id: str, with_content: bool) -> AsyncIterator[list[Chunk]]:
        return self._pages(store_id, None)

    async def _pages(self, store_id: str, scroll_filter: models.Filter | None) -> AsyncIterator[list[Chunk]]:
        offset: Any = None
        while True:
            records, offset = await self._run(self._client.scroll, self._name(store_id), scroll_filter=scroll_filter,
                                              limit=PAGE, offset=offset, with_payload=True)
            if records:
                yield [_chunk(record.payload or {}) for record in records]
            if offset is None:
                return

    async def count(self, store_id: str) -> int:
        return (await self._run(self._client.count, self._name(store_id), exact=True)).count

    async def close(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._client.close)
        finally:
            self._thread.shutdown(wait=False)


def _restricted(condition: Condition | None, only_ids: Sequence[str] | None) -> models.Filter | None:
    """The condition (translated first, so an Untranslatable one fails before any I/O), limited to ids."""
    translated = qdrant_filter(condition) if condition is not None else None
    if only_ids is None:
        return translated
    must: list[Any] = [models.HasIdCondition(has_id=[point_id(chunk_id) for chunk_id in only_ids])]
    return models.Filter(must=must + ([translated] if translated is not None else []))


def _payload(chunk: Chunk) -> dict[str, Any]:
    payload: dict[str, Any] = {field: getattr(chunk, field) for field in _CHUNK_FIELDS}
    payload.update({ATTRIBUTE_PREFIX + name: value for name, value in chunk.attributes.items()})
    return payload


def _chunk(payload: dict[str, Any]) -> Chunk:
    attributes = {key[len(ATTRIBUTE_PREFIX):]: value for key, value in payload.items()
                  if key.startswith(ATTRIBUTE_PREFIX)}
    return Chunk.model_validate({**{field: payload.get(field) for field in _CHUNK_FIELDS}, "attributes": attributes})
