"""Vector stores as collections of a Chroma server, through its REST API (v2) with the shared httpx client.

Plain HTTP rather than the chromadb client: the API is a dozen JSON calls, httpx is already ours (and
the transport the test seam), and chromadb-client would add OpenTelemetry, tenacity and a sync
client run in threads. Each record is one chunk: id = chunk id, document = content, metadata = the
chunk's other fields (`ps:*`) and its attributes (`a:<name>`). Embeddings go up as base64 float32.
Collections use cosine space (distance = 1 - cosine similarity) and no embedding function: Polystack
always sends the vectors, so the server never computes one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import numpy as np
import orjson

from polystack.apis.errors import NotFoundError
from polystack.apis.vector_io.index import AttributeValue, Chunk, ScoredChunk
from polystack.providers.remote.vector_io.chromadb.chroma_filters import ATTRIBUTE_PREFIX, chroma_where
from polystack.providers.remote.vector_io.chromadb.config import ChromaDBConfig
from polystack.providers.utils.openai_compat.errors import status_error, transport_error
from polystack.providers.utils.vector_index.engine_index import collection_name, store_of
from polystack.providers.utils.vector_index.typed_filters import Condition

PAGE = 1000
_FILE_ID, _FILENAME, _METADATA = "ps:file_id", "ps:filename", "ps:metadata"
_DIMENSION = "polystack_dimension"
_CHUNKS = ["documents", "metadatas"]


class ChromaEngine:
    """Implements VectorEngine on a Chroma server."""

    def __init__(self, client: httpx.AsyncClient, config: ChromaDBConfig) -> None:
        self._client = client
        self._prefix = config.collection_prefix
        self._base = f"/api/v2/tenants/{config.tenant}/databases/{config.database}/collections"
        self._hnsw = {"space": "cosine", "ef_search": config.hnsw_ef_search,
                      "ef_construction": config.hnsw_ef_construction, "max_neighbors": config.hnsw_max_neighbors}
        self._ids: dict[str, str] = {}  # collection name -> Chroma's collection id
        self._base64 = False

    async def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        content = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY) if body is not None else None
        headers = {"content-type": "application/json"} if content is not None else None
        try:
            response = await self._client.request(method, path, content=content, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise transport_error("chromadb", str(self._client.base_url), exc) from None
        if response.status_code == 404:
            raise NotFoundError(f"Chroma: {_message(response)}", param="vector_store_id")
        if response.status_code >= 400:
            raise status_error("chromadb", response.status_code, response.content)
        return response.json() if response.content else None

    async def _collection(self, store_id: str) -> str:
        """The collection's path; its id is looked up once, by name."""
        name = collection_name(self._prefix, store_id)
        if name not in self._ids:
            self._ids[name] = (await self._call("GET", f"{self._base}/{name}"))["id"]
        return f"{self._base}/{self._ids[name]}"

    async def stores(self) -> dict[str, int]:
        checks = await self._call("GET", "/api/v2/pre-flight-checks")
        self._base64 = bool(checks.get("supports_base64_encoding"))
        found, offset = {}, 0
        while page := await self._call("GET", self._base, params={"limit": 100, "offset": offset}):
            for collection in page:
                store_id = store_of(self._prefix, collection["name"])
                dimension = (collection.get("metadata") or {}).get(_DIMENSION)
                if store_id is not None and isinstance(dimension, int):
                    found[store_id] = dimension
                    self._ids[collection["name"]] = collection["id"]
            offset += len(page)
        return found

    async def create_store(self, store_id: str, dimension: int) -> None:
        name = collection_name(self._prefix, store_id)
        created = await self._call("POST", self._base, {
            "name": name, "get_or_create": True, "metadata": {_DIMENSION: dimension},
            "configuration": {"hnsw": self._hnsw, "embedding_function": None},
        })
        self._ids[name] = created["id"]

    async def delete_store(self, store_id: str) -> None:
        name = collection_name(self._prefix, store_id)
        self._ids.pop(name, None)
        try:
            await self._call("DELETE", f"{self._base}/{name}")
        except NotFoundError:
            pass

    async def upsert(self, store_id: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        path = await self._collection(store_id)
        for start in range(0, len(chunks), PAGE):
            batch, matrix = chunks[start:start + PAGE], vectors[start:start + PAGE]
            embeddings: Any = matrix
            if self._base64:
                embeddings = [base64.b64encode(row.astype("<f4").tobytes()).decode() for row in matrix]
            await self._call("POST", f"{path}/upsert", {
                "ids": [chunk.chunk_id for chunk in batch], "embeddings": embeddings,
                "documents": [chunk.content for chunk in batch], "metadatas": [_metadata(chunk) for chunk in batch],
            })

    async def existing(self, store_id: str, chunk_ids: Sequence[str] = (), file_id: str | None = None) -> list[str]:
        path = await self._collection(store_id)
        found: set[str] = set()
        if chunk_ids:
            found.update((await self._call("POST", f"{path}/get", {"ids": list(chunk_ids), "include": []}))["ids"])
        if file_id is not None:
            where = {_FILE_ID: {"$eq": file_id}}
            found.update((await self._call("POST", f"{path}/get", {"where": where, "include": []}))["ids"])
        return sorted(found)

    async def delete(self, store_id: str, chunk_ids: Sequence[str]) -> None:
        await self._call("POST", f"{await self._collection(store_id)}/delete", {"ids": list(chunk_ids)})

    async def set_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None:
        """Chroma merges metadata on update, and a None value removes a key: old attributes are sent as None."""
        path = await self._collection(store_id)
        records = await self._call("POST", f"{path}/get", {"where": {_FILE_ID: {"$eq": file_id}},
                                                           "include": ["metadatas"]})
        if not records["ids"]:
            return
        new = {ATTRIBUTE_PREFIX + name: value for name, value in attributes.items()}
        updates = [{**{key: None for key in (metadata or {}) if key.startswith(ATTRIBUTE_PREFIX)}, **new}
                   for metadata in records["metadatas"]]
        await self._call("POST", f"{path}/update", {"ids": records["ids"], "metadatas": updates})

    async def search(self, store_id: str, vector: np.ndarray, k: int, condition: Condition | None,
                     only_ids: Sequence[str] | None) -> list[ScoredChunk]:
        body: dict[str, Any] = {"query_embeddings": [vector], "n_results": k, "include": [*_CHUNKS, "distances"]}
        if condition is not None:
            body["where"] = chroma_where(condition)
        if only_ids is not None:
            body["ids"] = list(only_ids)
        path = await self._collection(store_id)
        found = await self._call("POST", f"{path}/query", body)
        rows = zip(found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True)
        hits = [ScoredChunk(chunk=_chunk(chunk_id, document, metadata), score=1.0 - distance)
                for chunk_id, document, metadata, distance in rows]
        if len(hits) < k:  # HNSW is approximate: a short answer may have missed some; check exhaustively
            hits = await self._exact_search(path, vector, k, body.get("where"), body.get("ids"), hits)
        return hits

    async def _exact_search(self, path: str, vector: np.ndarray, k: int, where: Any, only_ids: list[str] | None,
                            approximate: list[ScoredChunk]) -> list[ScoredChunk]:
        """Every matching record scored here: only reached when fewer than k matched, so it stays small."""
        scored: list[ScoredChunk] = []
        offset = 0
        while True:
            body: dict[str, Any] = {"limit": PAGE, "offset": offset, "include": [*_CHUNKS, "embeddings"]}
            if where is not None:
                body["where"] = where
            if only_ids is not None:
                body["ids"] = only_ids
            page = await self._call("POST", f"{path}/get", body)
            if not page["ids"]:
                break
            scores = np.asarray(page["embeddings"], dtype=np.float32) @ vector
            scored += [ScoredChunk(chunk=_chunk(chunk_id, document, metadata), score=float(score))
                       for chunk_id, document, metadata, score in zip(page["ids"], page["documents"],
                                                                      page["metadatas"], scores, strict=True)]
            offset += len(page["ids"])
        if len(scored) <= len(approximate):
            return approximate
        return sorted(scored, key=lambda hit: hit.score, reverse=True)[:k]

    async def fetch(self, store_id: str, chunk_ids: Sequence[str], condition: Condition | None) -> dict[str, Chunk]:
        body: dict[str, Any] = {"ids": list(chunk_ids), "include": _CHUNKS}
        if condition is not None:
            body["where"] = chroma_where(condition)
        if not chunk_ids:
            return {}
        found = await self._call("POST", f"{await self._collection(store_id)}/get", body)
        return {chunk_id: _chunk(chunk_id, document, metadata)
                for chunk_id, document, metadata in zip(found["ids"], found["documents"], found["metadatas"],
                                                        strict=True)}

    async def scan(self, store_id: str, with_content: bool) -> AsyncIterator[list[Chunk]]:
        path, offset = await self._collection(store_id), 0
        include = _CHUNKS if with_content else ["metadatas"]
        while True:
            page = await self._call("POST", f"{path}/get", {"limit": PAGE, "offset": offset, "include": include})
            if not page["ids"]:
                return
            documents = page.get("documents") or [""] * len(page["ids"])
            yield [_chunk(*record) for record in zip(page["ids"], documents, page["metadatas"], strict=True)]
            offset += len(page["ids"])

    async def count(self, store_id: str) -> int:
        return int(await self._call("GET", f"{await self._collection(store_id)}/count"))

    async def close(self) -> None:
        await self._client.aclose()


def _metadata(chunk: Chunk) -> dict[str, Any]:
    metadata: dict[str, Any] = {ATTRIBUTE_PREFIX + name: value for name, value in chunk.attributes.items()}
    metadata[_METADATA] = json.dumps(chunk.metadata)
    if chunk.file_id is not None:
        metadata[_FILE_ID] = chunk.file_id
    if chunk.filename is not None:
        metadata[_FILENAME] = chunk.filename
    return metadata


def _chunk(chunk_id: str, document: str | None, metadata: dict[str, Any] | None) -> Chunk:
    metadata = metadata or {}
    return Chunk(chunk_id=chunk_id, content=document or "", file_id=metadata.get(_FILE_ID),
                 filename=metadata.get(_FILENAME), metadata=json.loads(metadata.get(_METADATA) or "{}"),
                 attributes={key[len(ATTRIBUTE_PREFIX):]: value for key, value in metadata.items()
                             if key.startswith(ATTRIBUTE_PREFIX)})


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))[:300]
    except ValueError:
        return response.text[:300]

