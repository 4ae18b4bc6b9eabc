"""Vectors as float32 BLOBs in a plain table per store: the durable vectors of providers that search elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from polystack.providers.utils.vector_index.chunk_store import StoredStore
from polystack.providers.utils.vector_index.database import Connection


class BlobEmbeddings:
    """Implements EmbeddingTable: `embeddings_<num> (row INTEGER PRIMARY KEY, vector BLOB)`."""

    def create(self, conn: Connection, store: StoredStore) -> None:
        conn.execute(f"CREATE TABLE {_table(store)} (row INTEGER PRIMARY KEY, vector BLOB NOT NULL)")

    def drop(self, conn: Connection, store: StoredStore) -> None:
        conn.execute(f"DROP TABLE IF EXISTS {_table(store)}")

    def insert(self, conn: Connection, store: StoredStore, rows: Sequence[int], vectors: np.ndarray) -> None:
        conn.executemany(f"INSERT INTO {_table(store)} (row, vector) VALUES (?, ?)",
                         zip(rows, (vector.tobytes() for vector in vectors), strict=True))

    def delete(self, conn: Connection, store: StoredStore, rows: Sequence[int]) -> None:
        conn.executemany(f"DELETE FROM {_table(store)} WHERE row = ?", ((row,) for row in rows))

    def load(self, conn: Connection, store: StoredStore, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
        return load_vectors(conn, f"SELECT row, vector FROM {_table(store)} WHERE row > ? ORDER BY row",
                            store.dimension, (after,))


def load_vectors(conn: Connection, sql: str, dimension: int,
                 params: tuple[object, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(rows, float32 matrix) of a query returning (row, float32 BLOB) pairs."""
    rows, blobs = [], []
    for row, blob in conn.execute(sql, params):
        rows.append(row)
        blobs.append(blob)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), dimension)
    return np.asarray(rows, dtype=np.int64), matrix


def _table(store: StoredStore) -> str:
    return f"embeddings_{store.num}"
