"""An FTS5 keyword index beside a vector engine without BM25: chunk ids and texts only, in a SQLite file.

It reuses the SQLite providers' chunk store (same tokenizer, same BM25) with no vectors and no
attributes: the engine stays the truth for chunks, and filters are checked there. The index is
derived data: kept a superset of the engine's chunks (written before the engine on adds, after it
on deletes), and rebuilt from the engine whenever their counts disagree at startup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polystack.apis.vector_io.index import Chunk
from polystack.providers.utils.vector_index.chunk_store import ChunkStore, StoredStore
from polystack.providers.utils.vector_index.database import Connection, Database


class NoEmbeddings:
    """Implements EmbeddingTable by keeping nothing: the vectors live in the engine."""

    def create(self, conn: Connection, store: StoredStore) -> None: ...

    def drop(self, conn: Connection, store: StoredStore) -> None: ...

    def insert(self, conn: Connection, store: StoredStore, rows: Sequence[int], vectors: Any) -> None: ...

    def delete(self, conn: Connection, store: StoredStore, rows: Sequence[int]) -> None: ...

    def load(self, conn: Connection, store: StoredStore, after: int = 0) -> tuple[Any, Any]:
        return [], []


class KeywordSidecar:
    """Blocking calls: run them in a worker thread. Writes are one transaction each, durable on return."""

    def __init__(self, path: str) -> None:
        self._db = Database(path)
        self._chunks = ChunkStore(NoEmbeddings())
        self._stores: dict[str, StoredStore] = {}

    @property
    def path(self) -> str:
        return self._db.path

    def open(self) -> dict[str, int]:
        """Opens the file; returns how many chunks each store it knows holds."""
        self._db.open()
        self._db.write(self._chunks.create_schema)
        with self._db.reader() as conn:
            self._stores = {store.store_id: store for store in self._chunks.stores(conn)}
            return {store_id: _count(conn, store) for store_id, store in self._stores.items()}

    def create_store(self, store_id: str, dimension: int) -> None:
        if store_id not in self._stores:
            store = self._db.write(lambda conn: self._chunks.create_store(conn, store_id, dimension))
            self._stores[store_id] = store

    def delete_store(self, store_id: str) -> None:
        store = self._stores.pop(store_id, None)
        if store is not None:
            self._db.write(lambda conn: self._chunks.delete_store(conn, store))

    def put(self, store_id: str, texts: Sequence[tuple[str, str]]) -> None:
        """Index (chunk_id, content) pairs, replacing earlier texts of the same ids."""
        store = self._stores[store_id]
        chunks = [Chunk(chunk_id=chunk_id, content=content) for chunk_id, content in texts]

        def work(conn: Connection) -> None:
            replaced = self._chunks.rows_of_chunks(conn, store, [chunk.chunk_id for chunk in chunks])
            self._chunks.delete_rows(conn, store, replaced)
            self._chunks.insert(conn, store, chunks, None)

        self._db.write(work)

    def remove(self, store_id: str, chunk_ids: Sequence[str]) -> None:
        store = self._stores[store_id]
        if chunk_ids:
            self._db.write(lambda conn: self._chunks.delete_rows(conn, store,
                                                                 self._chunks.rows_of_chunks(conn, store, chunk_ids)))

    def ranked(self, store_id: str, match: str, limit: int) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score) of the `limit` best matches of an FTS5 query, best first."""
        store = self._stores[store_id]
        with self._db.reader() as conn:
            hits = list(self._chunks.keyword_hits(conn, store, match, limit))
            chunks = self._chunks.fetch(conn, [row for row, _ in hits])
        return [(chunks[row].chunk_id, score) for row, score in hits if row in chunks]

    def close(self) -> None:
        self._db.close()


def _count(conn: Connection, store: StoredStore) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM chunks WHERE store = ?", (store.num,)).fetchone()[0])
