"""The durable side of a vector index: stores, chunks and an FTS5 table per store, in one SQLite file.

Every chunk has an integer `row` (its SQLite rowid), the key shared with the FTS5 table and with the
provider's embedding table. Methods take the connection of the caller's transaction, so one add or
delete is a single transaction across all three tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from polystack.apis.vector_io.index import AttributeValue, Chunk
from polystack.providers.utils.vector_index.database import Connection

SCHEMA_VERSION = 1
# porter stems English ("indexes" finds "index"); unicode61 folds case and, with 2, diacritics.
TOKENIZER = "porter unicode61 remove_diacritics 2"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vector_stores (num INTEGER PRIMARY KEY, store_id TEXT NOT NULL UNIQUE, "
    "dimension INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS chunks (row INTEGER PRIMARY KEY AUTOINCREMENT, store INTEGER NOT NULL, "
    "chunk_id TEXT NOT NULL, content TEXT NOT NULL, file_id TEXT, filename TEXT, attributes TEXT NOT NULL, "
    "metadata TEXT NOT NULL, UNIQUE (store, chunk_id))",
    "CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks (store, file_id)",
    # What other processes on this file must apply to their memory (changes.py): deleted rows, rows whose
    # attributes changed, stores created or deleted (row NULL). New rows need no entry: rows only grow.
    "CREATE TABLE IF NOT EXISTS chunk_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, store INTEGER NOT NULL, "
    "row INTEGER, kind TEXT NOT NULL)",
)
_COLUMNS = "row, chunk_id, content, file_id, filename, attributes, metadata"
_ROWS_IN = "(SELECT value FROM json_each(?))"


@dataclass(frozen=True)
class StoredStore:
    """A vector store as the database knows it; `num` names its per-store tables."""

    num: int
    store_id: str
    dimension: int

    @property
    def fts_table(self) -> str:
        return f"chunks_fts_{self.num}"


class EmbeddingTable(Protocol):
    """Where a provider keeps the vectors durably, keyed by chunk row (a BLOB table, a sqlite-vec vec0 table)."""

    def create(self, conn: Connection, store: StoredStore) -> None: ...

    def drop(self, conn: Connection, store: StoredStore) -> None: ...

    def insert(self, conn: Connection, store: StoredStore, rows: Sequence[int], vectors: Any) -> None: ...

    def delete(self, conn: Connection, store: StoredStore, rows: Sequence[int]) -> None: ...

    def load(self, conn: Connection, store: StoredStore, after: int = 0) -> tuple[Any, Any]:
        """(rows, float32 matrix) of the rows above `after`, ordered by row."""
        ...


class ChunkStore:
    """SQL for stores and chunks; the provider's EmbeddingTable keeps the vectors beside them."""

    def __init__(self, embeddings: EmbeddingTable) -> None:
        self.embeddings = embeddings

    def create_schema(self, conn: Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"vector index schema {version} is newer than this Polystack ({SCHEMA_VERSION})")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def stores(self, conn: Connection) -> list[StoredStore]:
        return [StoredStore(*row) for row in conn.execute("SELECT num, store_id, dimension FROM vector_stores")]

    def create_store(self, conn: Connection, store_id: str, dimension: int) -> StoredStore:
        num = conn.execute("INSERT INTO vector_stores (store_id, dimension) VALUES (?, ?)",
                           (store_id, dimension)).lastrowid
        store = StoredStore(num, store_id, dimension)
        _log(conn, store, "store")
        # External content: the text lives once, in `chunks`; the FTS5 table holds only the inverted index.
        conn.execute(f"CREATE VIRTUAL TABLE {store.fts_table} USING fts5(content, content='chunks', "
                     f"content_rowid='row', tokenize='{TOKENIZER}')")
        self.embeddings.create(conn, store)
        return store

    def delete_store(self, conn: Connection, store: StoredStore) -> None:
        conn.execute(f"DROP TABLE IF EXISTS {store.fts_table}")
        self.embeddings.drop(conn, store)
        conn.execute("DELETE FROM chunks WHERE store = ?", (store.num,))
        conn.execute("DELETE FROM vector_stores WHERE num = ?", (store.num,))
        _log(conn, store, "store")

    def insert(self, conn: Connection, store: StoredStore, chunks: Sequence[Chunk], vectors: Any) -> list[int]:
        """Rows of the new chunks, in order. Chunk ids must be unique in `chunks` and not in the store."""
        # AUTOINCREMENT's counter: a row number is never reused, even after the last row is deleted.
        first = conn.execute("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'chunks'), 0) + 1"
                             ).fetchone()[0]
        rows = list(range(first, first + len(chunks)))
        conn.executemany(
            "INSERT INTO chunks (row, store, chunk_id, content, file_id, filename, attributes, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(row, store.num, chunk.chunk_id, chunk.content, chunk.file_id, chunk.filename,
              json.dumps(chunk.attributes), json.dumps(chunk.metadata))
             for row, chunk in zip(rows, chunks, strict=True)],
        )
        conn.executemany(f"INSERT INTO {store.fts_table} (rowid, content) VALUES (?, ?)",
                         [(row, chunk.content) for row, chunk in zip(rows, chunks, strict=True)])
        self.embeddings.insert(conn, store, rows, vectors)
        return rows

    def delete_rows(self, conn: Connection, store: StoredStore, rows: Sequence[int]) -> None:
        if not rows:
            return
        rows_json = json.dumps(list(rows))
        # An external-content FTS5 row is removed by replaying its indexed text with the 'delete' command.
        conn.execute(f"INSERT INTO {store.fts_table} ({store.fts_table}, rowid, content) "
                     f"SELECT 'delete', row, content FROM chunks WHERE row IN {_ROWS_IN}", (rows_json,))
        self.embeddings.delete(conn, store, rows)
        conn.execute(f"DELETE FROM chunks WHERE row IN {_ROWS_IN}", (rows_json,))
        _log(conn, store, "delete", rows)

    def rows_of_chunks(self, conn: Connection, store: StoredStore, chunk_ids: Sequence[str]) -> list[int]:
        cursor = conn.execute(f"SELECT row FROM chunks WHERE store = ? AND chunk_id IN {_ROWS_IN}",
                              (store.num, json.dumps(list(chunk_ids))))
        return [row for (row,) in cursor]

    def rows_of_file(self, conn: Connection, store: StoredStore, file_id: str) -> list[int]:
        cursor = conn.execute("SELECT row FROM chunks WHERE store = ? AND file_id = ?", (store.num, file_id))
        return [row for (row,) in cursor]

    def set_attributes(self, conn: Connection, store: StoredStore, file_id: str,
                       attributes: dict[str, AttributeValue]) -> list[int]:
        """Rows whose attributes changed."""
        cursor = conn.execute("UPDATE chunks SET attributes = ? WHERE store = ? AND file_id = ? RETURNING row",
                              (json.dumps(attributes), store.num, file_id))
        rows = [row for (row,) in cursor.fetchall()]
        _log(conn, store, "attributes", rows)
        return rows

    def attributes(self, conn: Connection, store: StoredStore,
                   after: int = 0) -> tuple[list[int], list[dict[str, Any]]]:
        """The store's rows above `after` and their attributes, ordered by row."""
        cursor = conn.execute("SELECT row, attributes FROM chunks WHERE store = ? AND row > ? ORDER BY row",
                              (store.num, after))
        rows, attributes = [], []
        for row, text in cursor:
            rows.append(row)
            attributes.append(json.loads(text))
        return rows, attributes

    def fetch(self, conn: Connection, rows: Sequence[int]) -> dict[int, Chunk]:
        cursor = conn.execute(f"SELECT {_COLUMNS} FROM chunks WHERE row IN {_ROWS_IN}", (json.dumps(list(rows)),))
        return {row: Chunk(chunk_id=chunk_id, content=content, file_id=file_id, filename=filename,
                           attributes=json.loads(attributes), metadata=json.loads(metadata))
                for row, chunk_id, content, file_id, filename, attributes, metadata in cursor}

    def keyword_hits(self, conn: Connection, store: StoredStore, match: str,
                     limit: int | None) -> Iterator[tuple[int, float]]:
        """(row, BM25 score) best first. SQLite's bm25() is lower-is-better, so the score is its negation."""
        table = store.fts_table
        sql = f"SELECT rowid, -bm25({table}) FROM {table} WHERE {table} MATCH ? ORDER BY rank"
        if limit is not None:
            yield from conn.execute(f"{sql} LIMIT ?", (match, limit))
        else:
            yield from conn.execute(sql, (match,))


def _log(conn: Connection, store: StoredStore, kind: str, rows: Sequence[int] | None = None) -> None:
    if rows is None:
        conn.execute("INSERT INTO chunk_changes (store, row, kind) VALUES (?, NULL, ?)", (store.num, kind))
    elif rows:
        conn.execute("INSERT INTO chunk_changes (store, row, kind) SELECT ?, value, ? FROM json_each(?)",
                     (store.num, kind, json.dumps(list(rows))))
