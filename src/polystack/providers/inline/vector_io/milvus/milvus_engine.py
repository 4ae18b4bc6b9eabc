"""Vector stores as Milvus collections through pymilvus's MilvusClient (here on Milvus Lite, a local `.db`).

A row per chunk: `chunk_id` (primary key), `vector` (FLAT index, cosine: exact), `chunk` (JSON: the
chunk as given) and its attributes again split by type for filtering (see milvus_filters). pymilvus
blocks, and Milvus Lite takes one writer per collection, so every call runs on one worker thread.
Every write ends with a flush: Milvus Lite then writes the rows into a segment instead of keeping them
in its memtable, which it searches row by row (10,000 rows: ~600 ms a query unflushed, ~60 ms flushed).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

from polystack.apis.errors import NotFoundError, ProviderError
from polystack.apis.vector_io.index import AttributeValue, Chunk, ScoredChunk
from polystack.providers.inline.vector_io.milvus.milvus_filters import FIELDS, milvus_expression, quoted
from polystack.providers.utils.vector_index.engine_index import collection_name, store_of
from polystack.providers.utils.vector_index.typed_filters import Condition, kind

T = TypeVar("T")
PAGE = 1000
MAX_ID_LENGTH = 65_535  # bytes: Milvus's VARCHAR limit
COLLECTION_NOT_FOUND = 100
_CHUNK_FIELDS = ("content", "file_id", "filename", "metadata", "attributes")


class MilvusEngine:
    """Implements VectorEngine on a MilvusClient."""

    def __init__(self, client: MilvusClient, uri: str, prefix: str, thread: ThreadPoolExecutor) -> None:
        self._client = client
        self._uri = uri
        self._prefix = prefix
        self._thread = thread

    @classmethod
    async def open(cls, uri: str, prefix: str) -> MilvusEngine:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="milvus")
        try:
            client = await asyncio.get_running_loop().run_in_executor(thread, lambda: MilvusClient(uri))
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(client, uri, prefix, thread)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            return fn(*args, **kwargs)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, call)
        except MilvusException as exc:
            if exc.code == COLLECTION_NOT_FOUND:
                raise NotFoundError(f"Vector store has no Milvus collection: {exc.message}",
                                    param="vector_store_id") from exc
            raise ProviderError("milvus", f"{exc.message} (code {exc.code})") from exc

    def _name(self, store_id: str) -> str:
        return collection_name(self._prefix, store_id)

    async def stores(self) -> dict[str, int]:
        def read() -> dict[str, int]:
            found = {}
            for name in self._client.list_collections():
                store_id = store_of(self._prefix, name)
                if store_id is not None:
                    vector = next(field for field in self._client.describe_collection(name)["fields"]
                                  if field["name"] == "vector")
                    self._client.load_collection(name)
                    found[store_id] = int(vector["params"]["dim"])
            return found

        return await self._run(read)

    async def create_store(self, store_id: str, dimension: int) -> None:
        def create() -> None:
            schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_LENGTH)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
            for field in ("chunk", *FIELDS.values()):
                schema.add_field(field, DataType.JSON)
            index = self._client.prepare_index_params()
            index.add_index("vector", index_type="FLAT", metric_type="COSINE")
            self._client.create_collection(self._name(store_id), schema=schema, index_params=index)

        await self._run(create)

    async def delete_store(self, store_id: str) -> None:
        await self._run(self._client.drop_collection, self._name(store_id))

    async def upsert(self, store_id: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), PAGE):
            rows = [_row(chunk, vector) for chunk, vector in
                    zip(chunks[start:start + PAGE], vectors[start:start + PAGE].tolist(), strict=True)]
            await self._run(self._client.upsert, self._name(store_id), rows)
        await self._run(self._client.flush, self._name(store_id))

    async def existing(self, store_id: str, chunk_ids: Sequence[str] = (), file_id: str | None = None) -> list[str]:
        found: set[str] = set()
        if chunk_ids:
            rows = await self._run(self._client.get, self._name(store_id), ids=list(chunk_ids),
                                   output_fields=["chunk_id"])
            found.update(row["chunk_id"] for row in rows)
        if file_id is not None:
            found.update(row["chunk_id"] for row in await self._file_rows(store_id, file_id, ["chunk_id"]))
        return sorted(found)

    async def _file_rows(self, store_id: str, file_id: str, fields: list[str]) -> list[dict[str, Any]]:
        return await self._run(self._client.query, self._name(store_id),
                               filter=f'chunk["file_id"] == {quoted(file_id)}', output_fields=fields)

    async def delete(self, store_id: str, chunk_ids: Sequence[str]) -> None:
        await self._run(self._client.delete, self._name(store_id), ids=list(chunk_ids))

    async def set_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None:
        """Milvus rewrites whole rows: the file's rows are read back with their vectors and upserted."""
        rows = await self._file_rows(store_id, file_id, ["chunk_id", "vector", "chunk"])
        updated = [_row(_chunk(row).model_copy(update={"attributes": attributes}), list(row["vector"]))
                   for row in rows]
        if updated:
            await self._run(self._client.upsert, self._name(store_id), updated)
            await self._run(self._client.flush, self._name(store_id))

    async def search(self, store_id: str, vector: np.ndarray, k: int, condition: Condition | None,
                     only_ids: Sequence[str] | None) -> list[ScoredChunk]:
        expression = _restricted(condition, only_ids)
        hits = await self._run(self._client.search, self._name(store_id), data=[vector.tolist()], limit=k,
                               filter=expression, output_fields=["chunk_id", "chunk"],
                               search_params={"metric_type": "COSINE"})
        return [ScoredChunk(chunk=_chunk({"chunk_id": hit["chunk_id"], **hit["entity"]}), score=hit["distance"])
                for hit in hits[0]]

    async def fetch(self, store_id: str, chunk_ids: Sequence[str], condition: Condition | None) -> dict[str, Chunk]:
        expression = _restricted(condition, chunk_ids)
        if not chunk_ids:
            return {}
        if condition is None:
            rows = await self._run(self._client.get, self._name(store_id), ids=list(chunk_ids),
                                   output_fields=["chunk_id", "chunk"])
        else:
            rows = await self._run(self._client.query, self._name(store_id), filter=expression,
                                   output_fields=["chunk_id", "chunk"])
        return {row["chunk_id"]: _chunk(row) for row in rows}

    async def scan(self, store_id: str, with_content: bool) -> AsyncIterator[list[Chunk]]:
        pages = await self._run(self._client.query_iterator, self._name(store_id), batch_size=PAGE,
                                output_fields=["chunk_id", "chunk"])
        try:
            while rows := await self._run(pages.next):
                yield [_chunk(row) for row in rows]
        finally:
            await self._run(pages.close)

    async def count(self, store_id: str) -> int:
        rows = await self._run(self._client.query, self._name(store_id), filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    async def close(self) -> None:
        def close() -> None:
            self._client.close()
            if self._uri.endswith(".db"):  # stop Milvus Lite: fsync its log, release the folder's lock
                from milvus_lite import server_manager_instance

                server_manager_instance.release_server(os.path.abspath(self._uri))

        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, close)
        finally:
            self._thread.shutdown(wait=False)


def _restricted(condition: Condition | None, only_ids: Sequence[str] | None) -> str:
    """The expression (built first, so an Untranslatable one fails before any I/O), limited to ids."""
    parts = [milvus_expression(condition)] if condition is not None else []
    if only_ids is not None:
        parts.append(f"chunk_id in [{', '.join(quoted(chunk_id) for chunk_id in only_ids)}]")
    return " and ".join(parts)


def _row(chunk: Chunk, vector: list[float]) -> dict[str, Any]:
    row: dict[str, Any] = {"chunk_id": chunk.chunk_id, "vector": vector,
                           "chunk": {field: getattr(chunk, field) for field in _CHUNK_FIELDS}}
    for value_kind, field in FIELDS.items():
        row[field] = {name: value for name, value in chunk.attributes.items() if kind(value) == value_kind}
    return row


def _chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(chunk_id=row["chunk_id"], **row["chunk"])
