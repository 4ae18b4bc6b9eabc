"""sqlite-vec pieces of inline::sqlite-vec: vectors in a vec0 table per store, and the vec0 scan as a searcher.

vec0 is the durable vector table, so the file is a plain sqlite-vec database any sqlite-vec client can
query. Its KNN is an exact scan in C: ~10 ms at 10k x 384 but ~100-150 ms at 100k, so by default queries are
served from an in-memory copy (ExactMatrix) and Vec0Scan serves them only with `in_memory_index: false`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import sqlite_vec

from polystack.providers.utils.vector_index.blob_embeddings import load_vectors
from polystack.providers.utils.vector_index.chunk_store import StoredStore
from polystack.providers.utils.vector_index.database import Connection, Database
from polystack.providers.utils.vector_index.store_rows import StoreRows

# vec0's KNN answers at most this many neighbours.
MAX_K = 4096


def load_extension(conn: Connection) -> None:
    if not hasattr(conn, "enable_load_extension"):
        raise RuntimeError("this Python's sqlite3 cannot load extensions: pip install pysqlite3-binary")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)


class Vec0Embeddings:
    """Implements EmbeddingTable: `vec_<num> USING vec0(embedding float[dim] distance_metric=cosine)`."""

    def create(self, conn: Connection, store: StoredStore) -> None:
        conn.execute(f"CREATE VIRTUAL TABLE {_table(store)} USING vec0("
                     f"embedding float[{store.dimension}] distance_metric=cosine)")

    def drop(self, conn: Connection, store: StoredStore) -> None:
        conn.execute(f"DROP TABLE IF EXISTS {_table(store)}")

    def insert(self, conn: Connection, store: StoredStore, rows: Sequence[int], vectors: np.ndarray) -> None:
        conn.executemany(f"INSERT INTO {_table(store)} (rowid, embedding) VALUES (?, ?)",
                         zip(rows, (vector.tobytes() for vector in vectors), strict=True))

    def delete(self, conn: Connection, store: StoredStore, rows: Sequence[int]) -> None:
        conn.executemany(f"DELETE FROM {_table(store)} WHERE rowid = ?", ((row,) for row in rows))

    def load(self, conn: Connection, store: StoredStore, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
        sql = f"SELECT rowid, embedding FROM {_table(store)} WHERE rowid > ? ORDER BY rowid"
        return load_vectors(conn, sql, store.dimension, (after,))


class Vec0Scan:
    """Implements VectorSearcher with sqlite-vec's exact KNN: no vectors in memory, one scan per query."""

    holds_vectors = False

    def __init__(self, database: Database, store: StoredStore, rows: StoreRows) -> None:
        self._database = database
        self._table = _table(store)
        self._rows = rows

    def add(self, vectors: np.ndarray) -> None:
        """Nothing to do: the vectors are already in the vec0 table."""

    def compact(self, keep: np.ndarray) -> None:
        """Nothing to do: positions are translated to rows at each search."""

    def save(self) -> None:
        """Nothing to save: vec0 is the database."""

    def discard(self) -> None:
        """Nothing to remove."""

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        sql = f"SELECT rowid, distance FROM {self._table} WHERE embedding MATCH ? AND k = ?"
        params: tuple[object, ...] = (query.astype(np.float32).tobytes(), min(k, MAX_K))
        if mask is not None:  # vec0 restricts its scan to the allowed rows, so a filter never shortens the answer
            sql += " AND rowid IN (SELECT value FROM json_each(?))"
            params += (json.dumps(self._rows.live_rows(mask).tolist()),)
        with self._database.reader() as conn:
            hits = conn.execute(sql, params).fetchall()
        positions = [self._rows.position_of(row) for row, _ in hits]
        return np.asarray(positions, np.int64), np.asarray([1.0 - distance for _, distance in hits], np.float32)


def _table(store: StoredStore) -> str:
    return f"vec_{store.num}"
